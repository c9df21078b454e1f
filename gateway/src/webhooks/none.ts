import { z } from "zod";
import { headerNameSchema } from "./shared.js";
import type { Provider } from "./types.js";

export const noneOptionsSchema = z
  .object({ event_header: headerNameSchema.optional(), delivery_header: headerNameSchema.optional() })
  .strict();

/**
 * No verification at all: for senders that sign nothing, behind some other protection.
 * The result says `verified: false` so consumers can tell.
 */
export const none: Provider = {
  name: "none",
  optionsSchema: noneOptionsSchema,
  verify({ headers, options }) {
    const { event_header, delivery_header } = noneOptionsSchema.parse(options);
    return {
      event: (event_header && headers.get(event_header)) ?? "",
      deliveryId: delivery_header ? headers.get(delivery_header) : null,
      verified: false,
    };
  },
};
