/**
 * GET /metrics after real traffic: a real gateway, nats-server (with the auth callout wired in)
 * and PostgreSQL. Each counter must move by exactly what was sent, between a scrape taken after
 * the set-up and one taken after the traffic. Then infra/'s Prometheus config and Grafana
 * dashboard are checked against the names those real scrapes export.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { connect, errors } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { bearer, callApi, openStream, postGithub, pull, scrape, startTestBroker, type Scrape, type TestBroker } from "@wb/test-support";

const METRICS_TOKEN = randomBytes(24).toString("base64url");

let broker: TestBroker;
let owner: { id: string; name: string; token: string };
let ep: { id: string; path: string; secret: string };
let small: { id: string; path: string; secret: string };

beforeAll(async () => {
  broker = await startTestBroker(
    // A burst of 5 per endpoint: the sixth delivery in a row to one endpoint is a 429.
    { METRICS_TOKEN, METRICS_LAG_INTERVAL: "0s", RATE_LIMIT_PER_ENDPOINT: "1/h:5", STREAM_MAX_BYTES: "1MiB" },
    { callout: true, processMetrics: true },
  );
  owner = await broker.user();
  ep = await broker.endpoint({ userId: owner.id });
  small = await broker.endpoint({ userId: owner.id }, { maxBodyBytes: 1024 });
  // The owner's durable exists before the traffic (its first pull creates it).
  expect((await pull(broker.url, owner.token, "wait=0s")).status).toBe(200);
}, 60_000);
afterAll(() => broker?.close());

const gatewayMetrics = () => scrape(`${broker.url}/metrics`, METRICS_TOKEN);
const calloutMetrics = () => scrape(`${broker.callout!.metrics!.url}/metrics`, METRICS_TOKEN);

/** How much each of `series` moved from `before` to `after`. */
function moved(before: Scrape, after: Scrape, series: [string, Record<string, string>?][]): Record<string, number> {
  return Object.fromEntries(series.map(([name, labels = {}]) => [`${name}${JSON.stringify(labels)}`, after.value(name, labels) - before.value(name, labels)]));
}

describe("METRICS_TOKEN", () => {
  it.each([
    ["the gateway", () => `${broker.url}/metrics`],
    ["the auth callout", () => `${broker.callout!.metrics!.url}/metrics`],
  ])("%s answers 401 unauthenticated without the token or with another one, 200 with it", async (_who, url) => {
    for (const headers of [{}, bearer("x".repeat(32)), bearer(`${METRICS_TOKEN}x`), { authorization: METRICS_TOKEN }]) {
      const res = await fetch(url(), { headers });
      expect(res.status).toBe(401);
      expect((await res.json()).error).toMatchObject({ code: "unauthenticated", message: expect.stringContaining("METRICS_TOKEN") });
    }
    const ok = await fetch(url(), { headers: bearer(METRICS_TOKEN) });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toMatch(/^# HELP wb_/m);
  });
});

describe("gateway /metrics after real traffic", () => {
  it("counts deliveries by provider and outcome, publishes, cache lookups and request latency by route, exactly", async () => {
    const before = await gatewayMetrics();
    const url = `${broker.url}/webhook/${ep.path}`;
    const ids = [randomUUID(), randomUUID(), randomUUID()];
    for (const deliveryId of ids) expect((await postGithub(url, { secret: ep.secret, deliveryId })).status).toBe(202);
    expect((await (await postGithub(url, { secret: ep.secret, deliveryId: ids[0] })).json()).duplicate).toBe(true);
    expect((await postGithub(url, { secret: "not-the-secret", deliveryId: randomUUID() })).status).toBe(401);
    expect((await postGithub(url, { secret: ep.secret, deliveryId: randomUUID() })).status).toBe(429);
    expect((await postGithub(`${broker.url}/webhook/${small.path}`, { secret: small.secret })).status).toBe(413);
    expect((await postGithub(`${broker.url}/webhook/no-such/${randomUUID()}`, { secret: "s" })).status).toBe(404);
    const after = await gatewayMetrics();

    const D = "wb_webhook_deliveries_total";
    expect(
      moved(before, after, [
        [D, { provider: "github", outcome: "stored" }],
        [D, { provider: "github", outcome: "duplicate" }],
        [D, { provider: "github", outcome: "401" }],
        [D, { provider: "github", outcome: "429" }],
        [D, { provider: "github", outcome: "413" }],
        [D, { provider: "unknown", outcome: "404" }],
        [D],
        ["wb_jetstream_publish_duration_seconds_count", { result: "stored" }],
        ["wb_jetstream_publish_duration_seconds_count", { result: "duplicate" }],
        ["wb_jetstream_publish_duration_seconds_count"],
        ["wb_cache_lookups_total", { cache: "endpoint", result: "hit" }],
        ["wb_cache_lookups_total", { cache: "endpoint", result: "miss" }],
        ["wb_http_request_duration_seconds_count", { method: "POST", route: "/webhook/*", status: "202" }],
        ["wb_http_request_duration_seconds_count", { route: "/webhook/*" }],
      ]),
    ).toEqual({
      [`${D}{"provider":"github","outcome":"stored"}`]: 3,
      [`${D}{"provider":"github","outcome":"duplicate"}`]: 1,
      [`${D}{"provider":"github","outcome":"401"}`]: 1,
      [`${D}{"provider":"github","outcome":"429"}`]: 1,
      [`${D}{"provider":"github","outcome":"413"}`]: 1,
      [`${D}{"provider":"unknown","outcome":"404"}`]: 1,
      [`${D}{}`]: 8,
      'wb_jetstream_publish_duration_seconds_count{"result":"stored"}': 3,
      'wb_jetstream_publish_duration_seconds_count{"result":"duplicate"}': 1,
      "wb_jetstream_publish_duration_seconds_count{}": 4,
      // Every delivery whose path named an endpoint; the 404 is the one miss.
      'wb_cache_lookups_total{"cache":"endpoint","result":"hit"}': 7,
      'wb_cache_lookups_total{"cache":"endpoint","result":"miss"}': 1,
      'wb_http_request_duration_seconds_count{"method":"POST","route":"/webhook/*","status":"202"}': 4,
      'wb_http_request_duration_seconds_count{"route":"/webhook/*"}': 8,
    });
    // Bounded labels: no path, delivery id or endpoint id ever becomes a label value.
    for (const raw of [ep.path, small.path, ep.id, ...ids, "no-such"]) expect(after.text).not.toContain(raw);
    expect(after.value("wb_db_query_duration_seconds_count", { operation: "select", result: "ok" })).toBeGreaterThan(0);
  });

  it("counts pulls and settlements per user, samples consumer lag per durable, and records the dead letter of a term", async () => {
    const durable = (await callApi(broker.url, owner.token, "GET", "/consumers/default")).body.durable_name as string;
    expect(durable).toMatch(/^u_/);
    const before = await gatewayMetrics();
    // Three stored deliveries wait from the test above (nobody has pulled them).
    expect(before.value("wb_consumer_pending_messages", { durable })).toBe(3);
    // How full the stream is: the same figure /readyz gives, above 0 with the stored deliveries in a 1 MiB stream.
    const ready = (await (await fetch(`${broker.url}/readyz`)).json()) as { stream: { percent_full: number } };
    expect(before.value("wb_stream_percent_full")).toBe(ready.stream.percent_full);
    expect(before.value("wb_stream_percent_full")).toBeGreaterThan(0);
    const got: number[] = [];
    while (got.length < 3) {
      const page = await pull(broker.url, owner.token, "wait=2s&limit=10");
      expect(page.status).toBe(200);
      got.push(...page.body.messages.map((m: { id: number }) => m.id));
    }
    expect(got).toHaveLength(3);
    const pulled = await gatewayMetrics();
    expect(pulled.value("wb_consumer_pending_messages", { durable })).toBe(0);
    expect(pulled.value("wb_consumer_ack_pending_messages", { durable })).toBe(3);

    expect((await callApi(broker.url, owner.token, "POST", "/messages/ack", { message_ids: got.slice(0, 2) })).status).toBe(200);
    expect((await callApi(broker.url, owner.token, "POST", "/messages/term", { message_ids: got.slice(2) })).status).toBe(200);
    // The term's advisory reaches the dead-letter recorder asynchronously.
    await expect.poll(async () => (await gatewayMetrics()).value("wb_dead_letters_total", { reason: "terminated" }) - before.value("wb_dead_letters_total", { reason: "terminated" }), { timeout: 10_000, interval: 100 }).toBe(1);
    const after = await gatewayMetrics();
    const user = owner.name;
    expect(
      moved(before, after, [
        ["wb_messages_delivered_total", { user, mode: "pull" }],
        ["wb_messages_settled_total", { user, kind: "ack" }],
        ["wb_messages_settled_total", { user, kind: "term" }],
        ["wb_http_request_duration_seconds_count", { method: "POST", route: "/api/v1/messages/ack", status: "200" }],
        ["wb_http_request_duration_seconds_count", { method: "POST", route: "/api/v1/messages/term", status: "200" }],
      ]),
    ).toEqual({
      [`wb_messages_delivered_total{"user":"${user}","mode":"pull"}`]: 3,
      [`wb_messages_settled_total{"user":"${user}","kind":"ack"}`]: 2,
      [`wb_messages_settled_total{"user":"${user}","kind":"term"}`]: 1,
      'wb_http_request_duration_seconds_count{"method":"POST","route":"/api/v1/messages/ack","status":"200"}': 1,
      'wb_http_request_duration_seconds_count{"method":"POST","route":"/api/v1/messages/term","status":"200"}': 1,
    });
    expect(after.value("wb_consumer_ack_pending_messages", { durable })).toBe(0);
    expect(after.value("wb_cache_lookups_total", { cache: "consumer" })).toBeGreaterThan(before.value("wb_cache_lookups_total", { cache: "consumer" }));
    // A route with a parameter is labelled by its pattern.
    expect((await callApi(broker.url, owner.token, "GET", `/consumers/default`)).status).toBe(200);
    const routes = new Set((await gatewayMetrics()).samples.filter((s) => s.name === "wb_http_request_duration_seconds_count").map((s) => s.labels.route));
    expect(routes).toContain("/api/v1/consumers/:name");
    expect([...routes].filter((r) => r?.includes("default"))).toEqual([]);
  });
});

describe("SSE deliveries in /metrics", () => {
  it("counts each event written to a stream as mode stream, and nothing as a pull", async () => {
    const user = owner.name;
    expect((await callApi(broker.url, owner.token, "POST", "/consumers", { name: "live", start: "new" })).status).toBe(201);
    const live = await broker.endpoint({ userId: owner.id });
    const series: [string, Record<string, string>][] = [
      ["wb_messages_delivered_total", { user, mode: "stream" }],
      ["wb_messages_delivered_total", { user, mode: "pull" }],
    ];
    const before = await gatewayMetrics();
    const reader = await openStream(broker.url, owner.token, "consumer=live");
    expect(reader.status).toBe(200);
    try {
      const sent: number[] = [];
      for (let i = 0; i < 2; i++) {
        const res = await postGithub(`${broker.url}/webhook/${live.path}`, { secret: live.secret });
        expect(res.status).toBe(202);
        sent.push((await res.json()).id);
      }
      const seen = [await reader.nextEvent(10_000), await reader.nextEvent(10_000)].map((e) => Number(e.id));
      expect(seen).toEqual(sent);
      // Counted once the socket has taken the event (the next one is then asked for).
      await expect
        .poll(async () => moved(before, await gatewayMetrics(), series), { timeout: 5_000, interval: 50 })
        .toEqual({ [`wb_messages_delivered_total{"user":"${user}","mode":"stream"}`]: 2, [`wb_messages_delivered_total{"user":"${user}","mode":"pull"}`]: 0 });
    } finally {
      reader.close();
    }
  });
});

describe("auth callout /metrics after real connections", () => {
  it("counts one allowed and one denied connection by reason, and the disconnect of a revoked token", async () => {
    const me = (await callApi(broker.url, owner.token, "GET", "/me")).body as { nats: { inbox_prefix: string } };
    const before = await calloutMetrics();
    const allowed = await connect({ servers: broker.nats.url, token: owner.token, inboxPrefix: me.nats.inbox_prefix, reconnect: false });
    await allowed.close();
    await expect(connect({ servers: broker.nats.url, token: "wb_not-a-token", reconnect: false })).rejects.toBeInstanceOf(errors.AuthorizationError);
    const after = await calloutMetrics();
    expect(
      moved(before, after, [
        ["wb_callout_requests_total", { result: "allowed", reason: "none" }],
        ["wb_callout_requests_total", { result: "denied", reason: "credential_invalid" }],
        ["wb_callout_requests_total"],
        ["wb_callout_duration_seconds_count", { result: "allowed" }],
        ["wb_callout_duration_seconds_count", { result: "denied" }],
      ]),
    ).toEqual({
      'wb_callout_requests_total{"result":"allowed","reason":"none"}': 1,
      'wb_callout_requests_total{"result":"denied","reason":"credential_invalid"}': 1,
      "wb_callout_requests_total{}": 2,
      'wb_callout_duration_seconds_count{"result":"allowed"}': 1,
      'wb_callout_duration_seconds_count{"result":"denied"}': 1,
    });
    expect(after.value("wb_db_query_duration_seconds_count")).toBeGreaterThan(before.value("wb_db_query_duration_seconds_count"));

    // A second token, connected, then revoked over HTTP: the revoker closes that one connection.
    const created = await callApi(broker.url, owner.token, "POST", "/tokens", { name: `m-${randomUUID().slice(0, 8)}` });
    expect(created.status).toBe(201);
    const doomed = await connect({ servers: broker.nats.url, token: created.body.token, inboxPrefix: me.nats.inbox_prefix, reconnect: false });
    const revokedBefore = (await calloutMetrics()).value("wb_revocation_disconnects_total", { cause: "revoked" });
    expect((await callApi(broker.url, owner.token, "DELETE", `/tokens/${created.body.id}`)).status).toBe(204);
    await expect.poll(() => doomed.isClosed(), { timeout: 10_000, interval: 50 }).toBe(true);
    await expect
      .poll(async () => (await calloutMetrics()).value("wb_revocation_disconnects_total", { cause: "revoked" }) - revokedBefore, { timeout: 5_000, interval: 50 })
      .toBe(1);
  });
});

describe("infra/: Prometheus and the Grafana dashboard read what /metrics exports", () => {
  const infra = new URL("../../infra/", import.meta.url);
  const read = (path: string) => readFile(new URL(path, infra), "utf8");

  /** Metric names a PromQL expression reads: identifiers not in strings, label matchers, ranges, `by (...)` lists, and not functions or keywords. */
  function metricNames(expr: string): string[] {
    const bare = expr
      .replace(/"(?:[^"\\]|\\.)*"/g, '""')
      .replace(/\{[^}]*\}/g, "")
      .replace(/\[[^\]]*\]/g, "")
      .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, "");
    const keywords = new Set(["by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset"]);
    return [...bare.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)].filter((m) => !m[2] && !keywords.has(m[1]!)).map((m) => m[1]!);
  }

  it("metricNames finds the series a query reads, and only those", () => {
    expect(metricNames('histogram_quantile(0.95, sum by (le, operation) (rate(wb_db_query_duration_seconds_bucket{route=~"/api/.*"}[$__rate_interval])))')).toEqual([
      "wb_db_query_duration_seconds_bucket",
    ]);
    expect(metricNames("sum(rate(a_total[5m])) / sum(rate(b_total[5m]))")).toEqual(["a_total", "b_total"]);
  });

  it("the dashboard is Grafana file provisioning, and every panel's query reads a metric the gateway or the callout exports", async () => {
    const exported = new Set([...(await gatewayMetrics()).seriesNames(), ...(await calloutMetrics()).seriesNames()]);
    const datasources = parseYaml(await read("grafana/provisioning/datasources/prometheus.yaml"));
    expect(datasources.apiVersion).toBe(1);
    const [ds] = datasources.datasources;
    expect(ds).toMatchObject({ type: "prometheus", url: "http://prometheus:9090", uid: expect.any(String) });
    const providers = parseYaml(await read("grafana/provisioning/dashboards/webhook-broker.yaml"));
    expect(providers.apiVersion).toBe(1);
    expect(providers.providers).toEqual([expect.objectContaining({ type: "file", options: expect.objectContaining({ path: expect.any(String) }) })]);

    // Mounted where the provider looks, and the provisioning where Grafana looks.
    const compose = parseYaml(await readFile(new URL("../docker-compose.yml", infra), "utf8"));
    const grafana = compose.services.grafana;
    expect(grafana.profiles).toEqual(["monitoring"]);
    expect(grafana.volumes).toContain(`./infra/grafana/dashboards:${providers.providers[0].options.path}:ro`);
    expect(grafana.volumes).toContain("./infra/grafana/provisioning:/etc/grafana/provisioning:ro");

    const dashboard = JSON.parse(await read("grafana/dashboards/webhook-broker.json"));
    expect(dashboard).toMatchObject({ uid: expect.stringMatching(/^[a-z0-9-]{1,40}$/), title: expect.any(String), schemaVersion: expect.any(Number), panels: expect.any(Array) });
    const ids = dashboard.panels.map((p: { id: number }) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const used = new Set<string>();
    for (const panel of dashboard.panels) {
      const { x, y, w, h } = panel.gridPos;
      expect([x, y, w, h].every(Number.isInteger) && x >= 0 && w > 0 && x + w <= 24 && h > 0, `gridPos of ${panel.title}`).toBe(true);
      if (panel.type === "row") continue;
      expect(panel.datasource, panel.title).toEqual({ type: "prometheus", uid: ds.uid });
      expect(panel.targets.length, panel.title).toBeGreaterThan(0);
      expect(new Set(panel.targets.map((t: { refId: string }) => t.refId)).size, panel.title).toBe(panel.targets.length);
      for (const target of panel.targets) {
        const names = metricNames(target.expr);
        expect(names.length, `${panel.title}: ${target.expr}`).toBeGreaterThan(0);
        for (const name of names) {
          expect(exported.has(name), `${panel.title}: ${name} is not on /metrics`).toBe(true);
          used.add(name);
        }
      }
    }
    // The figures the issue asks to watch.
    for (const name of [
      "wb_webhook_deliveries_total",
      "wb_http_request_duration_seconds_bucket",
      "wb_http_request_duration_seconds_count",
      "wb_db_query_duration_seconds_bucket",
      "wb_cache_lookups_total",
      "wb_messages_delivered_total",
      "wb_consumer_pending_messages",
      "wb_consumer_ack_pending_messages",
      "wb_jetstream_publish_duration_seconds_bucket",
      "wb_dead_letters_total",
      "wb_callout_requests_total",
      "wb_revocation_disconnects_total",
    ]) {
      expect(used, name).toContain(name);
    }
  });

  it("Prometheus scrapes the gateway and the callout where compose runs them, with the token file the container writes", async () => {
    const prometheus = parseYaml(await read("prometheus/prometheus.yml"));
    const targets = Object.fromEntries(prometheus.scrape_configs.map((j: any) => [j.job_name, j.static_configs.flatMap((s: any) => s.targets)]));
    expect(targets).toEqual({ gateway: ["gateway-1:8080", "gateway-2:8080"], callout: ["callout:9465"] });
    const compose = parseYaml(await readFile(new URL("../docker-compose.yml", infra), "utf8"));
    const p = compose.services.prometheus;
    expect(p.profiles).toEqual(["monitoring"]);
    for (const job of prometheus.scrape_configs) {
      expect(job.metrics_path).toBe("/metrics");
      expect(p.command.join(" ")).toContain(`> ${job.authorization.credentials_file}`);
    }
    expect(p.volumes).toContain("./infra/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro");
    expect(compose.services["gateway-1"].environment.METRICS_TOKEN).toBe(`\${METRICS_TOKEN:-}`);
    expect(compose.services.callout.environment.METRICS_TOKEN).toBe(`\${METRICS_TOKEN:-}`);
  });
});
