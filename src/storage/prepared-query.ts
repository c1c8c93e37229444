import type { CompiledQuery } from "kysely";

/**
 * A query compiled once and bound by name. Building a query with kysely
 * costs more than running a primary-key lookup, so hot queries are compiled
 * at start; their parameters are then placed by name, at the positions the
 * compiled SQL put each named slot, rather than by a position list a
 * reordering of the builder would silently break.
 *
 * @example
 * const getOne = PreparedQuery.of((s) => db.selectFrom("entries").selectAll()
 *   .where("store_uid", "=", s.storeUid).where("key_id", "=", s.keyId).compile(), ["storeUid", "keyId"]);
 * await db.executeQuery(getOne.bind({ storeUid, keyId }));
 */
export class PreparedQuery<Name extends string> {
  readonly #compiled: CompiledQuery;
  readonly #positions: readonly Name[];

  private constructor(compiled: CompiledQuery, positions: readonly Name[]) {
    this.#compiled = compiled;
    this.#positions = positions;
  }

  /**
   * Compiles `build` with one unique placeholder per name and records where
   * each landed.
   *
   * @throws Error if the SQL has a parameter that is not one of the slots, or
   *   a slot it never uses.
   */
  static of<Name extends string>(
    build: (slots: Readonly<Record<Name, never>>) => CompiledQuery,
    names: readonly Name[],
  ): PreparedQuery<Name> {
    const slots = Object.fromEntries(
      names.map((name) => [name, { slot: name } as unknown as never]),
    ) as Record<Name, never>;
    const byValue = new Map<unknown, Name>(names.map((name) => [slots[name], name]));
    const compiled = build(slots);
    const positions = compiled.parameters.map((value, i) => {
      const name = byValue.get(value);
      if (name === undefined) {
        throw new Error(`prepared query parameter ${i} is not a named slot: ${compiled.sql}`);
      }
      return name;
    });
    for (const name of names) {
      if (!positions.includes(name)) throw new Error(`prepared query never uses "${name}"`);
    }
    return new PreparedQuery(compiled, positions);
  }

  /** The compiled query with each named value at its positions. */
  bind(values: Readonly<Record<Name, unknown>>): CompiledQuery {
    return { ...this.#compiled, parameters: this.#positions.map((name) => values[name]) };
  }
}
