/**
 * The inspector's "send a test delivery" snippet: a shell command that signs a small JSON body
 * the way the endpoint's provider does and posts it to the webhook URL. The secret is never in
 * the page (the API shows it only when it is created or rotated): the snippet reads it from
 * `$WB_SECRET`. Needs sh, openssl and curl. Undefined for providers whose signing a one-liner
 * cannot do (standard-webhooks' base64 key, hmac's per-endpoint scheme).
 */
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

const HEX = `openssl dgst -sha256 -hmac "$WB_SECRET" | sed 's/^.* //'`;
const B64 = `openssl dgst -sha256 -hmac "$WB_SECRET" -binary | base64`;

export function testDeliveryCurl(provider: string, webhookUrl: string): string | undefined {
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
    case "none":
      return [body, post([])].join("\n");
    default:
      return undefined;
  }
}
