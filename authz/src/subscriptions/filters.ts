import { z } from "zod";
import { payloadFilterSchema } from "./payload.js";

/** The `filters` object of a subscription: unknown keys are refused, not ignored. */
export const subscriptionFiltersSchema = z.strictObject({
  event_type: z
    .array(z.string().min(1).max(200))
    .min(1, "event_type lists at least one event type (leave it out for every event)")
    .max(32)
    .transform((v) => [...new Set(v)])
    .optional(),
  payload: payloadFilterSchema.optional(),
});
