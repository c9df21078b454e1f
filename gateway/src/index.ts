export { createApp, type AppDeps } from "./app.js";
export { loadConfig, parseDuration, parseBytes, type Config, ConfigError } from "./config.js";
export { AuthService, type TokenResponse } from "./auth/sessions.js";
export { startGateway, createLogger, GATEWAY_CONNECTION_NAME, type RunningGateway } from "./gateway.js";
export { streamConfig } from "./nats/stream.js";
export { providers, providerNames, getProvider } from "./webhooks/index.js";
export { validateProviderOptions } from "./webhooks/options.js";
export { ENDPOINTS_CHANGED_SUBJECT } from "@wb/authz";
