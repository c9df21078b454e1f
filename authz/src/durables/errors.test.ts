import { JetStreamApiError, JetStreamError } from "@nats-io/jetstream";
import { describe, expect, it } from "vitest";
import { ApiCodes, isConsumerExists, isConsumerGone, isConsumerNotFound, isInvalidStart, isMessageNotFound, isNotFound, isStreamNotFound } from "./errors.js";

// Built as nats.js builds them from the server's answers (seen against nats-server 2.10.27).
const api = (err_code: number, code: number, description: string) => new JetStreamApiError({ err_code, code, description });
/** nats.js's JetStreamStatusError (not exported): a JetStreamError with the status code. */
const status = (code: number, description: string) => Object.assign(new JetStreamError(description), { code });

const consumerNotFound = api(ApiCodes.ConsumerNotFound, 404, "consumer not found");
const streamNotFound = api(ApiCodes.StreamNotFound, 404, "stream not found");
const exists = api(ApiCodes.ConsumerAlreadyExists, 400, "consumer already exists");
const badStart = api(ApiCodes.ConsumerInvalidPolicy, 400, "consumer delivery policy is deliver by start sequence, but optional start sequence is not set");
const overlap = api(10138, 400, "consumer subject filters cannot overlap");

describe("JetStream error classification", () => {
  it("tells not-found apart by API code, whatever the message says", () => {
    expect(isConsumerNotFound(consumerNotFound)).toBe(true);
    expect(isConsumerNotFound(streamNotFound)).toBe(false);
    expect(isStreamNotFound(streamNotFound)).toBe(true);
    expect(isNotFound(consumerNotFound) && isNotFound(streamNotFound)).toBe(true);
    expect(isNotFound(new Error("consumer not found"))).toBe(false);
    expect(isNotFound(api(10999, 404, "something else not found"))).toBe(false);
    expect(isMessageNotFound(api(ApiCodes.NoMessageFound, 404, "no message found"))).toBe(true);
  });

  it("recognises a create that met an existing consumer, and a start that does not fit its policy", () => {
    expect(isConsumerExists(exists)).toBe(true);
    expect(isConsumerExists(api(ApiCodes.ConsumerNameExists, 400, "consumer name already in use"))).toBe(true);
    expect(isConsumerExists(overlap)).toBe(false);
    expect(isInvalidStart(badStart)).toBe(true);
    expect(isInvalidStart(overlap)).toBe(false);
  });

  it("sees a durable gone under a pull: no responders, consumer deleted, or not found", () => {
    expect(isConsumerGone(status(503, "no responders"))).toBe(true);
    expect(isConsumerGone(status(409, "consumer deleted"))).toBe(true);
    expect(isConsumerGone(consumerNotFound)).toBe(true);
    expect(isConsumerGone(status(409, "exceeded maxwaiting"))).toBe(false);
    expect(isConsumerGone(status(408, "request timeout"))).toBe(false);
    expect(isConsumerGone(new Error("no responders"))).toBe(false);
    expect(isConsumerGone(undefined)).toBe(false);
  });
});
