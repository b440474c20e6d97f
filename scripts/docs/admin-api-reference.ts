/**
 * The admin API reference, rendered from the OpenAPI document the admin listener serves (`/openapi.json`,
 * src/admin/openapi.ts), which test/e2e/openapi.test.ts holds to the routes the app registers.
 */

interface JsonSchema {
  readonly $ref?: string;
  readonly type?: string | readonly string[];
  readonly enum?: readonly unknown[];
  readonly properties?: Record<string, JsonSchema>;
  readonly required?: readonly string[];
  readonly items?: JsonSchema;
  readonly description?: string;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly default?: unknown;
  readonly anyOf?: readonly JsonSchema[];
}
interface Operation {
  readonly summary?: string;
  readonly description?: string;
  readonly security?: readonly unknown[];
  /** The role the call needs (viewer, operator, admin): the table the API enforces. */
  readonly "x-strangler-role"?: string;
  readonly parameters?: ReadonlyArray<{ readonly name: string; readonly in: string; readonly required?: boolean; readonly schema?: JsonSchema }>;
  readonly requestBody?: { readonly content: Record<string, { readonly schema: JsonSchema }> };
  readonly responses: Record<string, { readonly description: string }>;
}
export interface OpenApiDocument {
  readonly info: { readonly title: string; readonly version: string };
  readonly paths: Record<string, Record<string, Operation>>;
  readonly components?: { readonly schemas?: Record<string, JsonSchema> };
}

/** A Markdown table cell: pipes escaped, line breaks as spaces. */
export const tableCell = (text: string) => text.replace(/\|/g, "\\|").replace(/\s*\n\s*/g, " ");

function resolve(schema: JsonSchema, document: OpenApiDocument): JsonSchema {
  if (!schema.$ref) return schema;
  const name = schema.$ref.split("/").at(-1) ?? "";
  return document.components?.schemas?.[name] ?? schema;
}

/** A JSON schema's type in a few words: `integer (1–500)`, `"open" \| "fixed"`, `array of string`. */
function typeOf(schema: JsonSchema, document: OpenApiDocument): string {
  const s = resolve(schema, document);
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(" \\| ");
  if (s.anyOf) return s.anyOf.map((x) => typeOf(x, document)).join(" \\| ");
  if (s.type === "array") return `array of ${s.items ? typeOf(s.items, document) : "any"}`;
  const type = Array.isArray(s.type) ? s.type.join(" \\| ") : (s.type ?? "object");
  const range = s.minimum !== undefined || s.maximum !== undefined ? ` (${s.minimum ?? ""}–${s.maximum ?? ""})` : "";
  return `${type}${range}`;
}

function operationSection(method: string, path: string, op: Operation, document: OpenApiDocument): string {
  const lines = [`### ${method.toUpperCase()} ${path}`, "", tableCell(op.summary ?? ""), ""];
  if (op.description) lines.push(op.description, "");
  const role = op["x-strangler-role"];
  lines.push(op.security && op.security.length > 0 ? `Bearer token required (when admin tokens are set)${role ? `, of role **${role}** or above` : ""}.` : "No token asked.", "");
  const parameters = op.parameters ?? [];
  const body = op.requestBody ? resolve(Object.values(op.requestBody.content)[0]?.schema ?? {}, document) : undefined;
  const fields = Object.entries(body?.properties ?? {});
  if (parameters.length > 0 || fields.length > 0) {
    lines.push("| parameter | in | type | required |", "| --- | --- | --- | --- |");
    for (const p of parameters) lines.push(`| \`${p.name}\` | ${p.in} | ${p.schema ? typeOf(p.schema, document) : ""} | ${p.required ? "yes" : "no"} |`);
    for (const [name, schema] of fields) lines.push(`| \`${name}\` | body | ${typeOf(schema, document)} | ${body?.required?.includes(name) ? "yes" : "no"} |`);
    lines.push("");
  }
  lines.push("| status | meaning |", "| --- | --- |");
  for (const [status, response] of Object.entries(op.responses)) lines.push(`| ${status} | ${tableCell(response.description)} |`);
  return lines.join("\n");
}

/** The page: an index of every endpoint, then each one with its parameters, body fields and answers. */
export function adminApiMarkdown(document: OpenApiDocument): string {
  const operations = Object.entries(document.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ method, path, op })));
  const index = operations.map(({ method, path, op }) => `| ${method.toUpperCase()} | \`${path}\` | ${op["x-strangler-role"] ?? ""} | ${tableCell(op.summary ?? "")} |`);
  return `# Admin API reference

The admin listener (port 9901 by default: \`--admin-port\` or \`ADMIN_PORT\`) serves ${operations.length} endpoints. When admin
tokens are set (\`STRANGLER_ADMIN_TOKEN\`, or \`STRANGLER_ADMIN_TOKENS\` with labels), those marked "Bearer token
required" want \`Authorization: Bearer <token>\` of the role named (viewer < operator < admin; see
[roles](../admin-api.md#roles-who-may-turn-which-dial)), else 403 \`forbidden\`. Refusals are JSON: \`{"error": {"code", "message", "field"?}}\`.
The same description, as OpenAPI 3.1, is served at \`GET /openapi.json\`.

| method | path | role | what it does |
| --- | --- | --- | --- |
${index.join("\n")}

## Endpoints

${operations.map(({ method, path, op }) => operationSection(method, path, op, document)).join("\n\n")}
`;
}
