import { describe, expect, it } from "vitest";
import { ackPayload, ackSubject, parseAckReply, parseSettlement } from "./ack.js";

describe("ackSubject", () => {
  it("writes the server's v1 reply subject: stream, durable, delivered, stream seq, consumer seq, timestamp, pending", () => {
    expect(ackSubject({ stream: "WEBHOOKS", durable: "u_ab_default", streamSeq: 42, consumerSeq: 7, deliveryCount: 3 })).toBe(
      "$JS.ACK.WEBHOOKS.u_ab_default.3.42.7.0.0",
    );
  });

  it("defaults to one delivery and consumer sequence 0 when they are not known", () => {
    const tokens = ackSubject({ stream: "S", durable: "d", streamSeq: 9 }).split(".");
    // nats-server's ackReplyInfo reads a 9-token subject as v1 (11 or more is v2).
    expect(tokens).toHaveLength(9);
    expect(tokens.slice(4)).toEqual(["1", "9", "0", "0", "0"]);
  });

  it("refuses what would change the subject's shape", () => {
    expect(() => ackSubject({ stream: "S", durable: "a.b", streamSeq: 1 })).toThrow(RangeError);
    expect(() => ackSubject({ stream: "S>", durable: "d", streamSeq: 1 })).toThrow(RangeError);
    expect(() => ackSubject({ stream: "S", durable: "d", streamSeq: -1 })).toThrow(RangeError);
    expect(() => ackSubject({ stream: "S", durable: "d", streamSeq: 1.5 })).toThrow(RangeError);
  });
});

describe("ackPayload", () => {
  it("is what nats.js's JsMsg sends for each settlement", () => {
    expect(ackPayload("ack")).toBe("+ACK");
    expect(ackPayload("in_progress")).toBe("+WPI");
    expect(ackPayload("term")).toBe("+TERM");
    expect(ackPayload("nak")).toBe("-NAK");
    expect(ackPayload("nak", 1_500)).toBe('-NAK {"delay":1500000000}');
  });
});

describe("parseSettlement", () => {
  it("reads back what ackSubject and ackPayload write, for every settlement", () => {
    for (const kind of ["ack", "nak", "in_progress", "term"] as const) {
      expect(parseSettlement(ackSubject({ stream: "S", durable: "d", streamSeq: 42, deliveryCount: 2 }), ackPayload(kind, kind === "nak" ? 500 : undefined))).toEqual({
        streamSeq: 42,
        kind,
      });
    }
  });

  it("reads the v2 form (domain and account hash), an empty payload as an ack, and ignores what does not settle", () => {
    expect(parseSettlement("$JS.ACK.dom.ACCHASH.S.d.1.77.3.1700000000.0.tok", "+ACK")).toEqual({ streamSeq: 77, kind: "ack" });
    expect(parseSettlement("$JS.ACK.S.d.1.5.3.0.0", "")).toEqual({ streamSeq: 5, kind: "ack" });
    expect(parseSettlement("$JS.ACK.S.d.1.5.3.0.0", "+NXT")).toEqual({ streamSeq: 5, kind: undefined });
  });

  it("refuses subjects that are not ack subjects", () => {
    for (const s of ["$JS.API.CONSUMER.INFO.S.d", "$JS.ACK.S.d.1.x.3.0.0", "$JS.ACK.S.d.1.0.3.0.0", "$JS.ACK.S.d", "wh.a.b"]) expect(parseSettlement(s, "+ACK"), s).toBeUndefined();
  });
});

describe("parseAckReply", () => {
  it("reads delivery count, sequences and pending from both forms", () => {
    expect(parseAckReply("$JS.ACK.S.d.3.42.7.1700000000000000000.5")).toEqual({ deliveryCount: 3, streamSeq: 42, consumerSeq: 7, pending: 5 });
    expect(parseAckReply("$JS.ACK.dom.HASH.S.d.1.9.2.1700000000000000000.0.tok")).toEqual({ deliveryCount: 1, streamSeq: 9, consumerSeq: 2, pending: 0 });
    expect(parseAckReply("$JS.ACK.S.d.1.9.x.0.0")).toBeUndefined();
  });
});
