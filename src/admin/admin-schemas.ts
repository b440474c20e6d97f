import { z } from "zod";
import { percentSchema } from "../config/schema.ts";

/** Why a change was made: required, so the audit log always says. */
export const reasonSchema = z
  .string({ error: (i) => (i.input === undefined ? "is required: say why" : "must be a string") })
  .trim()
  .min(1, "is required: say why")
  .max(500, "must be at most 500 characters");

/** `PUT /api/routes/:id/rollout`: the same percentage rule as `rollout.percent` in routes.config.ts. */
export const rolloutUpdateSchema = z.strictObject({ percent: percentSchema, reason: reasonSchema });

/** `POST /api/routes/:id/rollback` and `/reroll`. */
export const reasonOnlySchema = z.strictObject({ reason: reasonSchema });

export const auditQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  before: z.coerce.number().int().min(1).optional(),
  route: z.string().optional(),
});

/** `GET /api/map`: the window in hours (up to the map's retention, 14 days by default), and the monolith's own templates only. */
export const mapQuerySchema = z.strictObject({
  hours: z.coerce.number().int().min(1).max(24 * 90).default(24),
  unclaimed: z.enum(["0", "1", "true", "false"]).optional(),
});

/** `GET /api/map/suggest`: the window, and how many groups to suggest. */
export const suggestQuerySchema = z.strictObject({
  hours: z.coerce.number().int().min(1).max(24 * 90).default(24),
  limit: z.coerce.number().int().min(1).max(50).default(5),
});
