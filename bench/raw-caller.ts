import { Client, credentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import {
  HealthCheckRequest,
  HealthCheckResponse,
  HealthCheckResponse_ServingStatus,
  HealthService,
} from "../gen/grpc/health/v1/health.js";

/** Deadline of each checking call. */
const CHECK_TIMEOUT_MS = 15_000;

const identity = (bytes: Buffer): Buffer => bytes;

/**
 * A real grpc-js client that sends pre-encoded request bytes exactly as h2load
 * does and returns the raw response bytes — the check that a load generator's
 * body is a call the server answers with OK (h2load cannot tell: gRPC errors
 * arrive as HTTP 200).
 */
export class RawCaller {
  readonly #client: Client;
  readonly #metadata = new Metadata();

  /**
   * @param token sent as `authorization: Bearer <token>`.
   * @example
   * const caller = new RawCaller(server.address, token);
   */
  constructor(address: string, token: string) {
    this.#client = new Client(address, credentials.createInsecure());
    this.#metadata.set("authorization", `Bearer ${token}`);
  }

  /**
   * One unary call with exactly these protobuf bytes.
   *
   * @throws Error "<path> → <CODE name> <details>" if the status is not OK.
   * @example
   * const bytes = await caller.call("/hexclave.v1.VaultService/GetValue", body.message);
   */
  call(path: string, message: Uint8Array): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.#client.makeUnaryRequest(
        path,
        identity,
        identity,
        Buffer.from(message),
        this.#metadata,
        { deadline: Date.now() + CHECK_TIMEOUT_MS },
        (error: ServiceError | null, response?: Buffer) => {
          if (error === null && response !== undefined) resolve(response);
          else
            reject(new Error(`${path} → status ${error?.code} ${error?.details ?? "no response"}`));
        },
      );
    });
  }

  /**
   * Whether grpc.health.v1.Health/Check says the server is SERVING.
   *
   * @throws never; false on any failure.
   * @example
   * if (!(await caller.healthy())) fail("server unhealthy after the row");
   */
  async healthy(): Promise<boolean> {
    try {
      const bytes = await this.call(
        HealthService.check.path,
        HealthCheckRequest.encode({ service: "" }).finish(),
      );
      return HealthCheckResponse.decode(bytes).status === HealthCheckResponse_ServingStatus.SERVING;
    } catch {
      return false;
    }
  }

  /** Closes the connection. */
  close(): void {
    this.#client.close();
  }
}
