/**
 * @module
 * K-sortable ids with a type prefix: `<prefix>_<10 chars of ms time><16 chars of randomness>`,
 * Crockford base32 (ULID layout). Ids made in one isolate in the same millisecond still sort in
 * creation order: the random part is incremented instead of redrawn.
 */

const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const TIME_LEN = 10;
const RANDOM_LEN = 16;

/**
 * `org`, `prj`, `key`, `evt`, `req` are Keygate's own; `usr`, `ses`, `acc`, `vrf`, `mem`, `inv` are
 * better-auth's users, sessions, accounts, verifications, org members and invitations; `dvc` and
 * `otk` are OAuth device authorizations and tokens, `kgc` and `acd` registered OAuth clients and
 * authorization codes.
 */
export type IdPrefix = "org" | "prj" | "key" | "evt" | "req" | "usr" | "ses" | "acc" | "vrf" | "mem" | "inv" | "dvc" | "otk" | "kgc" | "acd";

let lastTime = -1;
/** `lastTime` encoded: every id of a request shares its millisecond, so it is encoded once. */
let lastTimeText = "";
const lastRandom = new Uint8Array(RANDOM_LEN);

/** A new id such as `key_01JD3Q5K2M8Z4X7V9B1C3D5F7G`. */
export function newId(prefix: IdPrefix, now = Date.now()): string {
  if (now <= lastTime) {
    incrementRandom();
  } else {
    lastTime = now;
    lastTimeText = encodeTime(now);
    crypto.getRandomValues(lastRandom);
    for (let i = 0; i < RANDOM_LEN; i++) lastRandom[i]! &= 31;
  }
  let random = "";
  for (let i = 0; i < RANDOM_LEN; i++) random += ALPHABET[lastRandom[i]!];
  return `${prefix}_${lastTimeText}${random}`;
}

function encodeTime(ms: number): string {
  let out = "";
  for (let i = 0; i < TIME_LEN; i++) {
    out = ALPHABET[ms % 32] + out;
    ms = Math.floor(ms / 32);
  }
  return out;
}

function incrementRandom(): void {
  for (let i = RANDOM_LEN - 1; i >= 0; i--) {
    const digit = lastRandom[i]! + 1;
    lastRandom[i] = digit & 31;
    if (digit < 32) return;
  }
}

/** The smallest id of `prefix` made at or after `ms`: a range bound for K-sortable ids. */
export function idFloor(prefix: IdPrefix, ms: number): string {
  return `${prefix}_${encodeTime(ms)}${ALPHABET[0]!.repeat(RANDOM_LEN)}`;
}

/** The millisecond time encoded in a K-sortable id (its first 10 characters after the prefix). */
export function idTime(id: string): number {
  const time = id.slice(id.indexOf("_") + 1, id.indexOf("_") + 1 + TIME_LEN);
  let ms = 0;
  for (const char of time) ms = ms * 32 + ALPHABET.indexOf(char);
  return ms;
}
