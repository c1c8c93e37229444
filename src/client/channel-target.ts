import { isIPv4, isIPv6 } from "node:net";
import { HexclaveError } from "./hexclave-error.js";

/**
 * What the client dials, from its `address` option.
 *
 * @example
 * const { target, shown } = channelTarget(["10.0.0.5:50051", "10.0.0.6:50051"]);
 * // target "ipv4:10.0.0.5:50051,10.0.0.6:50051"
 */
export interface ChannelTarget {
  /** The grpc-js target. */
  readonly target: string;
  /** The address as the caller gave it, for messages. */
  readonly shown: string;
}

/**
 * The service config every channel gets unless `channelOptions` brings its
 * own: round robin over every address the target resolves to (several
 * addresses, a `dns:///` name with several records), so load spreads and a
 * server that goes away only takes its share of calls with it. With one
 * address it is the same as grpc-js's default.
 */
export const ROUND_ROBIN_SERVICE_CONFIG = JSON.stringify({
  loadBalancingConfig: [{ round_robin: {} }],
});

/**
 * The grpc-js target for one address (`host:port`, `unix:/path`,
 * `dns:///name:port`, or any grpc-js target) or several.
 *
 * Several addresses must be IP addresses with ports, of one family: grpc-js
 * resolves a list only of those (its `ipv4:` and `ipv6:` targets). Servers
 * known by name are given as one `dns:///` name with a record per server.
 *
 * @throws HexclaveError INVALID_ARGUMENT for an empty address or list, or a list with host names or mixed families.
 * @example
 * channelTarget("dns:///hexclave.internal:50051"); // every A/AAAA record, round robin
 */
export function channelTarget(address: unknown): ChannelTarget {
  if (typeof address === "string" && address.length > 0) return { target: address, shown: address };
  if (!Array.isArray(address) || address.length === 0) {
    throw invalid(
      `"address" must be a non-empty string ("host:port", "unix:/path", "dns:///name:port") or a non-empty array of them`,
    );
  }
  if (address.length === 1) return channelTarget(address[0]);
  const parsed = address.map((a, i) => ipAddress(a, i));
  const family = parsed[0]?.family;
  if (parsed.some((p) => p.family !== family)) {
    throw invalid(
      `"address" mixes IPv4 and IPv6 addresses: give one family, or one dns:/// name that resolves to every server`,
    );
  }
  return { target: `${family}:${parsed.map((p) => p.text).join(",")}`, shown: address.join(", ") };
}

function ipAddress(value: unknown, index: number): { family: "ipv4" | "ipv6"; text: string } {
  const text = typeof value === "string" ? value : "";
  const v6 = /^\[([^\]]+)\]:(\d{1,5})$/.exec(text);
  if (v6 !== null && isIPv6(v6[1] as string) && validPort(v6[2])) return { family: "ipv6", text };
  const v4 = /^([^:]+):(\d{1,5})$/.exec(text);
  if (v4 !== null && isIPv4(v4[1] as string) && validPort(v4[2])) return { family: "ipv4", text };
  throw invalid(
    `"address[${index}]" must be an IP address with a port ("10.0.0.5:50051", "[fd00::5]:50051") when several ` +
      "are given; for servers known by name, give one dns:/// name that resolves to each of them",
  );
}

function validPort(port: string | undefined): boolean {
  const n = Number(port);
  return Number.isInteger(n) && n > 0 && n < 65_536;
}

function invalid(message: string): HexclaveError {
  return new HexclaveError("INVALID_ARGUMENT", message);
}
