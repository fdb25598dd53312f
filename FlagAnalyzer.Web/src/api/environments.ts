// Hand-written wire shapes of issue 26's per-environment routes (COMMON.md's contract), until the API's OpenAPI
// document describes them: at merge these become names for generated schemas, as types.ts does for the rest.
import type { Flag } from './types';

/** A flag's configuration in one environment: `GET /api/flags/{idOrName}/environments[/{environment}]`. */
export interface FlagConfiguration {
  environment: string;
  enabled: boolean;
  rolloutPercentage: number;
  targeting: unknown;
  defaultVariant: string;
  offVariant: string;
  autoRollback: boolean;
  /** The configuration's own version: the `If-Match` of its PATCH. */
  version: number;
  updatedAt: string;
}

export interface FlagConfigurationList {
  /** In the environments' promotion order. */
  items: FlagConfiguration[];
}

/** `PATCH /api/flags/{idOrName}/environments/{environment}`: any of these. */
export type ConfigurationPatch = Partial<Pick<FlagConfiguration,
  'enabled' | 'rolloutPercentage' | 'targeting' | 'defaultVariant' | 'offVariant' | 'autoRollback'>>;

/** A change waiting for approval (issue 27): what a protected environment answers (202) instead of applying it. */
export interface PendingChangeRequest {
  id: string;
  status?: string;
  environment?: string;
  requestedBy?: string;
  createdAt?: string;
  [field: string]: unknown;
}

/** What a configuration change came to: applied (200, the item) or waiting for approval (202). */
export type ConfigurationOutcome =
  | { kind: 'applied'; configuration: FlagConfiguration }
  | { kind: 'pending'; changeRequest: PendingChangeRequest };

/** `GET /api/flags/{idOrName}/environments/{to}/promote?from=`: what a promotion would change. */
export interface PromotionDiff {
  from: string;
  to: string;
  /** The revision of the source configuration the promotion copies. */
  fromRevision: number;
  changes: { field: string; from: unknown; to: unknown }[];
}

/** One item of `GET /api/environments/{environment}/flags`: the definition with that environment's configuration. */
export type EnvironmentFlag = Omit<Flag, 'eTag'> & {
  /** Not sent here: the configuration's `version` is what a PATCH of it names. */
  eTag?: null;
  /** The environment whose configuration `enabled`, `rolloutPercentage`, … and `version` are. */
  environment: string;
};

export interface EnvironmentFlagList {
  items: EnvironmentFlag[];
}
