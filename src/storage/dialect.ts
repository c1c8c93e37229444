/** The SQL dialects the storage adapter speaks. */
export type Dialect = "sqlite" | "postgres";
