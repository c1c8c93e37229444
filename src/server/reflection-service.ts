import { fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  type DescriptorProto,
  type FileDescriptorProto,
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
} from "@bufbuild/protobuf/wkt";
import { type ServerDuplexStream, status } from "@grpc/grpc-js";
import { descriptorSetBase64 } from "../../gen/descriptor-set.js";

/** The request and response shapes shared by grpc.reflection.v1 and v1alpha. */
interface ReflectionRequest {
  host: string;
  fileByFilename?: string | undefined;
  fileContainingSymbol?: string | undefined;
  fileContainingExtension?: { containingType: string; extensionNumber: number } | undefined;
  allExtensionNumbersOfType?: string | undefined;
  listServices?: string | undefined;
}
interface ReflectionResponse {
  validHost: string;
  originalRequest: ReflectionRequest | undefined;
  fileDescriptorResponse?: { fileDescriptorProto: Buffer[] } | undefined;
  allExtensionNumbersResponse?: { baseTypeName: string; extensionNumber: number[] } | undefined;
  listServicesResponse?: { service: { name: string }[] } | undefined;
  errorResponse?: { errorCode: number; errorMessage: string } | undefined;
}

/**
 * The schema as reflection serves it: every proto file with its comments, as
 * compiled by `buf generate` into gen/descriptor-set.ts, indexed by file name
 * and by fully qualified symbol.
 */
export class ReflectionIndex {
  readonly #files = new Map<string, { proto: FileDescriptorProto; bytes: Buffer }>();
  readonly #fileBySymbol = new Map<string, string>();
  readonly #messageTypes = new Set<string>();
  readonly services: readonly string[];

  constructor(services: readonly string[]) {
    const set = fromBinary(FileDescriptorSetSchema, Buffer.from(descriptorSetBase64, "base64"));
    for (const proto of set.file) {
      this.#files.set(proto.name, {
        proto,
        bytes: Buffer.from(toBinary(FileDescriptorProtoSchema, proto)),
      });
      const prefix = proto.package === "" ? "" : `${proto.package}.`;
      for (const message of proto.messageType)
        this.#indexMessage(proto.name, `${prefix}${message.name}`, message);
      for (const e of proto.enumType) this.#fileBySymbol.set(`${prefix}${e.name}`, proto.name);
      for (const service of proto.service) {
        const serviceName = `${prefix}${service.name}`;
        this.#fileBySymbol.set(serviceName, proto.name);
        for (const method of service.method)
          this.#fileBySymbol.set(`${serviceName}.${method.name}`, proto.name);
      }
    }
    const missing = services.filter((s) => !this.#fileBySymbol.has(s));
    if (missing.length > 0)
      throw new Error(
        `reflection has no descriptor for ${missing.join(", ")}: run npm run generate`,
      );
    this.services = services;
  }

  /** Answers one reflection request. */
  answer(request: ReflectionRequest): ReflectionResponse {
    const base = { validHost: request.host, originalRequest: request };
    if (request.listServices !== undefined) {
      return {
        ...base,
        listServicesResponse: { service: this.services.map((name) => ({ name })) },
      };
    }
    if (request.fileByFilename !== undefined) {
      return this.#filesFrom(
        base,
        this.#files.has(request.fileByFilename) ? request.fileByFilename : undefined,
        `file "${request.fileByFilename}"`,
      );
    }
    if (request.fileContainingSymbol !== undefined) {
      const symbol = request.fileContainingSymbol.replace(/^\./, "");
      return this.#filesFrom(base, this.#fileBySymbol.get(symbol), `symbol "${symbol}"`);
    }
    if (request.allExtensionNumbersOfType !== undefined) {
      const type = request.allExtensionNumbersOfType.replace(/^\./, "");
      if (!this.#messageTypes.has(type)) return notFound(base, `message type "${type}"`);
      return { ...base, allExtensionNumbersResponse: { baseTypeName: type, extensionNumber: [] } };
    }
    if (request.fileContainingExtension !== undefined) {
      return notFound(
        base,
        `extension ${request.fileContainingExtension.extensionNumber} of "${request.fileContainingExtension.containingType}"`,
      );
    }
    return {
      ...base,
      errorResponse: {
        errorCode: status.INVALID_ARGUMENT,
        errorMessage: "empty reflection request",
      },
    };
  }

  #indexMessage(file: string, name: string, message: DescriptorProto): void {
    this.#fileBySymbol.set(name, file);
    this.#messageTypes.add(name);
    for (const nested of message.nestedType)
      this.#indexMessage(file, `${name}.${nested.name}`, nested);
    for (const e of message.enumType) this.#fileBySymbol.set(`${name}.${e.name}`, file);
  }

  // The file asked for first, then everything it imports, transitively.
  #filesFrom(
    base: Pick<ReflectionResponse, "validHost" | "originalRequest">,
    file: string | undefined,
    what: string,
  ): ReflectionResponse {
    if (file === undefined) return notFound(base, what);
    const order: string[] = [];
    const visit = (name: string): void => {
      if (order.includes(name)) return;
      order.push(name);
      for (const dep of this.#files.get(name)?.proto.dependency ?? []) visit(dep);
    };
    visit(file);
    const fileDescriptorProto = order.flatMap((name) => {
      const found = this.#files.get(name);
      return found === undefined ? [] : [found.bytes];
    });
    return { ...base, fileDescriptorResponse: { fileDescriptorProto } };
  }
}

function notFound(
  base: Pick<ReflectionResponse, "validHost" | "originalRequest">,
  what: string,
): ReflectionResponse {
  return {
    ...base,
    errorResponse: { errorCode: status.NOT_FOUND, errorMessage: `${what} not found` },
  };
}

/**
 * A grpc.reflection ServerReflectionInfo handler (v1 and v1alpha have the same
 * shape). Unauthenticated: it reveals only the public schema, which the
 * package ships anyway.
 */
export function reflectionHandler(index: ReflectionIndex) {
  return (call: ServerDuplexStream<ReflectionRequest, ReflectionResponse>): void => {
    // A deadline that passed before the handler ran (an expired grpc-timeout, or a long wait
    // under load) gets its status now, as the call pipeline's calls do: answering requests of
    // a call grpc-js has already ended left the stream open without trailers.
    const deadline = Number(call.getDeadline());
    if (Date.now() >= deadline) {
      call.emit("error", {
        code: status.DEADLINE_EXCEEDED,
        details:
          "the call's deadline had passed before the server could start it: raise the client's timeout",
      });
      return;
    }
    // Once the deadline passes, grpc-js's own timer ends the stream (DEADLINE_EXCEEDED, then
    // "cancelled"); an answer written in between raced its trailers, and the long fuzz saw a
    // stream left without them. So nothing is written at or past the deadline.
    let open = true;
    call.on("cancelled", () => {
      open = false;
    });
    call.on("data", (request: ReflectionRequest) => {
      if (open && Date.now() < deadline) call.write(index.answer(request));
    });
    call.on("end", () => call.end());
    call.on("error", () => call.end());
  };
}
