import { DecryptionError, HexclaveError, WeakSecretError } from "./hexclave-error.js";

/**
 * The one place where anything thrown inside the client becomes a typed
 * client error, so every public method rejects with a HexclaveError only.
 *
 * CryptoErrors from src/crypto are recognised by shape (name and code), not by
 * class, so a second copy of the package cannot slip one through:
 * DECRYPTION_FAILED → DecryptionError (its one fixed message, no cause: the
 * cause could say which step failed), WEAK_SECRET → WeakSecretError (the
 * message says how to make a good secret), INVALID_INPUT → INVALID_ARGUMENT.
 * Anything else is a bug: INTERNAL, with the original kept as `cause`.
 *
 * @example
 * try { seal(keys, key, value); } catch (error) { throw toHexclaveError(error); }
 */
export function toHexclaveError(error: unknown): HexclaveError {
  if (error instanceof HexclaveError || isHexclaveErrorShape(error)) return error;
  if (isCryptoErrorShape(error)) {
    switch (error.code) {
      case "DECRYPTION_FAILED":
        return new DecryptionError();
      case "WEAK_SECRET":
        return new WeakSecretError(error.message);
      case "INVALID_INPUT":
        return new HexclaveError("INVALID_ARGUMENT", error.message);
    }
  }
  return new HexclaveError(
    "INTERNAL",
    "internal error in the Hexclave client (see the error's cause); please report it",
    { cause: error },
  );
}

/**
 * Runs `work`, turning anything it throws into a HexclaveError.
 *
 * @example
 * return guard(async () => this.#getEntry(key, options));
 */
export async function guard<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw toHexclaveError(error);
  }
}

interface CryptoErrorShape {
  readonly code: "DECRYPTION_FAILED" | "WEAK_SECRET" | "INVALID_INPUT";
  readonly message: string;
}

function isCryptoErrorShape(error: unknown): error is CryptoErrorShape {
  if (!(error instanceof Error) || error.name !== "CryptoError") return false;
  const code = (error as { code?: unknown }).code;
  return code === "DECRYPTION_FAILED" || code === "WEAK_SECRET" || code === "INVALID_INPUT";
}

function isHexclaveErrorShape(error: unknown): error is HexclaveError {
  return (
    error instanceof Error &&
    typeof (error as { code?: unknown }).code === "string" &&
    error.name.endsWith("Error") &&
    (error as { metadata?: unknown }).metadata !== undefined &&
    "reason" in error
  );
}
