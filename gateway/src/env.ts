import type { Principal } from "@wb/authz";

/** Context variables, typed once for every route. */
export type AppEnv = {
  Variables: {
    requestId: string;
    principal: Principal;
  };
};
