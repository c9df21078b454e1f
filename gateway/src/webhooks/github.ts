import { createHmac } from "node:crypto";
import { safeEqualText } from "./compare.js";
import { VerificationError, type Provider } from "./types.js";

/** GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`. */
export const github: Provider = {
  name: "github",
  verify({ body, headers, secrets }) {
    const header = headers.get("x-hub-signature-256");
    if (!header) throw new VerificationError("signature_missing", "X-Hub-Signature-256 header is missing");
    if (!/^sha256=[0-9a-fA-F]{64}$/.test(header)) {
      throw new VerificationError("signature_invalid", "X-Hub-Signature-256 is not of the form sha256=<64 hex digits>");
    }
    const given = header.slice("sha256=".length).toLowerCase();
    const ok = secrets.some((secret) => safeEqualText(createHmac("sha256", secret).update(body).digest("hex"), given));
    if (!ok) throw new VerificationError("signature_invalid", "X-Hub-Signature-256 does not match the body");
    return {
      event: headers.get("x-github-event") ?? "",
      deliveryId: headers.get("x-github-delivery"),
      verified: true,
    };
  },
};
