/**
 * Path templates: `/api/products/:id`, `/api/orders/*`.
 * - a literal segment matches itself exactly (after the request path is normalised);
 * - `:name` matches exactly one non-empty segment;
 * - a trailing `/*` matches the rest of the path: zero or more segments.
 */
export type TemplateSegment =
  | { readonly kind: "literal"; readonly value: string }
  | { readonly kind: "param"; readonly name: string }
  | { readonly kind: "wildcard" };

// Characters a normalised path segment may hold literally (RFC 3986 pchar without pct-encoding).
const LITERAL_SEGMENT = /^[A-Za-z0-9\-._~!$&'()*+,;=:@]+$/;
const PARAM_SEGMENT = /^:[A-Za-z_][A-Za-z0-9_]*$/;

/** Returns why `template` is not a valid path template, or undefined when it is. */
export function isValidPathTemplate(template: string): string | undefined {
  if (!template.startsWith("/")) return `must start with "/", got ${JSON.stringify(template)}`;
  const segments = template.slice(1).split("/");
  const names = new Set<string>();
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] as string;
    const last = i === segments.length - 1;
    if (segment === "*") {
      if (!last) return `"*" is only allowed as the last segment, in ${JSON.stringify(template)}`;
      continue;
    }
    if (segment === "" && last) continue; // a trailing slash is part of the template
    if (segment === "") return `empty segment ("//") in ${JSON.stringify(template)}`;
    if (segment === "." || segment === "..") return `dot-segments are not allowed, in ${JSON.stringify(template)}`;
    if (segment.startsWith(":")) {
      if (!PARAM_SEGMENT.test(segment)) return `parameter ${JSON.stringify(segment)} must be ":" followed by a name, in ${JSON.stringify(template)}`;
      if (names.has(segment)) return `parameter ${segment} appears twice in ${JSON.stringify(template)}`;
      names.add(segment);
      continue;
    }
    if (!LITERAL_SEGMENT.test(segment)) {
      return `segment ${JSON.stringify(segment)} holds characters a normalised path cannot (write it decoded; no "%", "?", "#" or spaces)`;
    }
  }
  return undefined;
}

/** Splits a valid template into segments (validation allows `*` only last). `/` is one empty literal segment. */
export function parsePathTemplate(template: string): TemplateSegment[] {
  return template
    .slice(1)
    .split("/")
    .map((segment): TemplateSegment => {
      if (segment === "*") return { kind: "wildcard" };
      if (segment.startsWith(":")) return { kind: "param", name: segment.slice(1) };
      return { kind: "literal", value: segment };
    });
}
