/**
 * @module
 * `keygate/verify`: what an origin behind Keygate needs to trust a forwarded request (SPEC §6):
 * `verifyKeygateSignature`, the identity header names, and a replay store. Web-standard APIs
 * only and no dependencies, for Node 20+, Workers, Deno and Bun.
 */
export { CONTENT_DIGEST_HEADER, contentDigestOf } from "./content-digest.js";
export { type Caller, IDENTITY_HEADERS, type KeygateIdentity, KEYGATE_HEADER_PREFIX } from "./identity.js";
export { createMemoryReplayStore, type ReplayStore } from "./replay.js";
export {
  ContentDigestMismatchError,
  SIGNATURE_HEADER,
  type SignatureHeaders,
  type SignatureInput,
  type SignatureV2Fields,
  signatureBase,
  signatureBaseV2,
  signKeygateRequest,
  TIMESTAMP_HEADER,
  type VerifyOptions,
  type VerifyResult,
  verifyKeygateSignature,
} from "./signature.js";
