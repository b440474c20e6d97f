import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SECRET_BYTES } from "../../src/store/secret-store.ts";
import { startTestPostgres, type TestPostgres } from "../helpers/postgres.ts";
import { storeKinds, withStore } from "../helpers/stores.ts";

/** The store's own secrets, on SQLite (the processes of one host) and PostgreSQL (a fleet). */
let postgres: TestPostgres;
beforeAll(async () => {
  postgres = await startTestPostgres();
});
afterAll(async () => {
  await postgres?.stop();
});

describe.each(storeKinds(() => postgres))("the secret store on %s", (_kind, open) => {
  it(
    "makes a secret on first use, random and of full length, and gives every node the same one ever after",
    withStore(open, async (s) => {
      const [a, b] = [await s.node(), await s.node()];
      const first = await a.secrets.secret("pseudonyms");
      expect(first).toHaveLength(SECRET_BYTES);
      expect(first.equals(Buffer.alloc(SECRET_BYTES))).toBe(false);
      expect((await a.secrets.secret("pseudonyms")).equals(first)).toBe(true);
      expect((await b.secrets.secret("pseudonyms")).equals(first)).toBe(true);
      expect((await b.secrets.secret("other")).equals(first)).toBe(false);
    }),
  );

  it(
    "two nodes asking at once for a secret nobody made get the same one: the first writer's",
    withStore(open, async (s) => {
      const nodes = await Promise.all([s.node(), s.node(), s.node()]);
      const secrets = await Promise.all(nodes.map((n) => n.secrets.secret("raced")));
      for (const secret of secrets) expect(secret.equals(secrets[0] as Buffer)).toBe(true);
    }),
  );

  it(
    "another store has another secret",
    withStore(open, async (s) => {
      const other = await open();
      try {
        expect((await (await other.node()).secrets.secret("pseudonyms")).equals(await (await s.node()).secrets.secret("pseudonyms"))).toBe(false);
      } finally {
        await other.close();
      }
    }),
  );
});
