/**
 * The inspector's "send a test delivery" snippet: a shell command that signs a small JSON body
 * the way the endpoint's provider does and posts it to the webhook URL. The secret is never in
 * the page (the API shows it only when it is created or rotated): the snippet reads it from
 * `$WB_SECRET`. Needs sh, openssl, od and curl. The generic hmac provider's snippet follows
 * the endpoint's own options (header, algorithm, encoding, prefix, timestamp and event headers).
 * Undefined for a provider it does not know. Every snippet is run against a real broker in
 * gateway/test/ui-curl.test.ts.
 */
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

const HEX = `openssl dgst -sha256 -hmac "$WB_SECRET" | sed 's/^.* //'`;
const B64 = `openssl dgst -sha256 -hmac "$WB_SECRET" -binary | base64`;

/** The generic hmac provider's options, as the endpoint API returns them (validated when it was created). */
interface HmacOptions {
  header?: string;
  algorithm?: string;
  encoding?: string;
  prefix?: string;
  timestamp_header?: string;
  event_header?: string;
  delivery_header?: string;
}

export function testDeliveryCurl(provider: string, webhookUrl: string, options: Record<string, unknown> = {}): string | undefined {
  const body = `BODY='{"test":true,"sent_by":"webhook-broker inspector"}'`;
  const post = (headers: string[]) =>
    [`curl -sS -X POST ${q(webhookUrl)}`, `-H 'Content-Type: application/json'`, ...headers, `--data-binary "$BODY"`].join(" \\\n  ");
  switch (provider) {
    case "github":
      return [body, `SIG=$(printf '%s' "$BODY" | ${HEX})`, post([`-H 'X-GitHub-Event: ping'`, `-H "X-GitHub-Delivery: $(date +%s%N)"`, `-H "X-Hub-Signature-256: sha256=$SIG"`])].join("\n");
    case "bitbucket":
      return [body, `SIG=$(printf '%s' "$BODY" | ${HEX})`, post([`-H 'X-Event-Key: repo:push'`, `-H "X-Request-UUID: $(date +%s%N)"`, `-H "X-Hub-Signature: sha256=$SIG"`])].join("\n");
    case "jira":
      return [
        `BODY='{"webhookEvent":"jira:issue_updated","test":true}'`,
        `SIG=$(printf '%s' "$BODY" | ${HEX})`,
        post([`-H "X-Atlassian-Webhook-Identifier: $(date +%s%N)"`, `-H "X-Hub-Signature: sha256=$SIG"`]),
      ].join("\n");
    case "gitlab":
      return [body, post([`-H 'X-Gitlab-Event: Push Hook'`, `-H "X-Gitlab-Token: $WB_SECRET"`, `-H "Idempotency-Key: $(date +%s%N)"`])].join("\n");
    case "shopify":
      return [body, `SIG=$(printf '%s' "$BODY" | ${B64})`, post([`-H 'X-Shopify-Topic: orders/create'`, `-H "X-Shopify-Event-Id: $(date +%s%N)"`, `-H "X-Shopify-Hmac-Sha256: $SIG"`])].join("\n");
    case "stripe":
      return [
        `BODY='{"id":"evt_test_'"$(date +%s%N)"'","type":"test.event"}'`,
        "TS=$(date +%s)",
        `SIG=$(printf '%s.%s' "$TS" "$BODY" | ${HEX})`,
        post([`-H "Stripe-Signature: t=$TS,v1=$SIG"`]),
      ].join("\n");
    case "slack":
      return [
        `BODY='{"type":"event_callback","event_id":"Ev'"$(date +%s%N)"'","event":{"type":"test"}}'`,
        "TS=$(date +%s)",
        `SIG=$(printf 'v0:%s:%s' "$TS" "$BODY" | ${HEX})`,
        post([`-H "X-Slack-Request-Timestamp: $TS"`, `-H "X-Slack-Signature: v0=$SIG"`]),
      ].join("\n");
    case "standard-webhooks":
      return [
        `BODY='{"type":"test.event","test":true}'`,
        `ID="msg_$(date +%s%N)"`,
        "TS=$(date +%s)",
        // The key is the secret's bytes: whsec_<base64> (or bare base64) decoded.
        `KEY=$(printf '%s' "\${WB_SECRET#whsec_}" | openssl base64 -d -A | od -An -v -tx1 | tr -d ' \\n')`,
        `SIG=$(printf '%s.%s.%s' "$ID" "$TS" "$BODY" | openssl dgst -sha256 -mac HMAC -macopt hexkey:"$KEY" -binary | openssl base64 -A)`,
        post([`-H "webhook-id: $ID"`, `-H "webhook-timestamp: $TS"`, `-H "webhook-signature: v1,$SIG"`]),
      ].join("\n");
    case "hmac": {
      const o = options as HmacOptions;
      if (!o.header) return undefined;
      const alg = o.algorithm === "sha512" ? "sha512" : "sha256";
      const digest = o.encoding === "base64" ? `openssl dgst -${alg} -hmac "$WB_SECRET" -binary | openssl base64 -A` : `openssl dgst -${alg} -hmac "$WB_SECRET" | sed 's/^.* //'`;
      const signed = o.timestamp_header ? `printf '%s.%s' "$TS" "$BODY"` : `printf '%s' "$BODY"`;
      return [
        body,
        ...(o.timestamp_header ? ["TS=$(date +%s)"] : []),
        `SIG=$(${signed} | ${digest})`,
        post([
          `-H ${q(`${o.header}: ${o.prefix ?? ""}`)}"$SIG"`,
          ...(o.timestamp_header ? [`-H ${q(`${o.timestamp_header}: `)}"$TS"`] : []),
          ...(o.event_header ? [`-H ${q(`${o.event_header}: test`)}`] : []),
          ...(o.delivery_header ? [`-H ${q(`${o.delivery_header}: `)}"$(date +%s%N)"`] : []),
        ]),
      ].join("\n");
    }
    case "none":
      return [body, post([])].join("\n");
    default:
      return undefined;
  }
}
