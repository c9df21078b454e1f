/** The broker's one error type: a machine-readable code, an HTTP status, a human message. */
export type ErrorCode =
  | "invalid_request"
  | "unauthenticated"
  | "refresh_token_reused"
  | "forbidden"
  | "not_found"
  | "endpoint_not_found"
  | "message_not_found"
  | "conflict"
  | "already_redriven"
  | "signature_missing"
  | "signature_invalid"
  | "timestamp_invalid"
  | "timestamp_out_of_range"
  | "path_invalid"
  | "path_too_long"
  | "payload_too_large"
  | "rate_limited"
  | "unsupported_provider"
  | "unavailable"
  | "github_not_configured"
  | "github_unavailable"
  | "github_error"
  | "github_access_denied"
  | "device_code_expired"
  | "internal";

/** Each code's HTTP status (the OpenAPI document lists the codes a status may carry). */
export const ERROR_STATUS: Readonly<Record<ErrorCode, number>> = {
  invalid_request: 400,
  unauthenticated: 401,
  refresh_token_reused: 401,
  forbidden: 403,
  not_found: 404,
  endpoint_not_found: 404,
  message_not_found: 404,
  conflict: 409,
  already_redriven: 409,
  signature_missing: 401,
  signature_invalid: 401,
  timestamp_invalid: 401,
  timestamp_out_of_range: 401,
  path_invalid: 400,
  path_too_long: 414,
  payload_too_large: 413,
  rate_limited: 429,
  unsupported_provider: 400,
  unavailable: 503,
  github_not_configured: 404,
  github_unavailable: 503,
  github_error: 502,
  github_access_denied: 403,
  device_code_expired: 400,
  internal: 500,
};

export class BrokerError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: { retryAfterSeconds?: number },
  ) {
    super(message);
    this.name = "BrokerError";
    this.status = ERROR_STATUS[code];
  }
}
