/** Most significant digits a float32 needs to round-trip through decimal. */
const FLOAT32_DIGITS = 9;

/**
 * The decimal a client wrote for a protobuf `float` field: the value with the fewest
 * significant digits that rounds to the same float32 (-0.1, not the widened
 * -0.10000000149011612 protobuf-es hands over). Used where float32 fields enter the
 * core, so that messages echo what was sent and checks compare the client's number.
 * A value that is not a float32 (a JSON double) and non-finite values come back as
 * they are. Tries `toPrecision` from 1 digit up; 9 digits always round-trip.
 */
export function shortestFloat32(value: number): number {
  if (!Number.isFinite(value) || Math.fround(value) !== value) return value;
  for (let digits = 1; digits < FLOAT32_DIGITS; digits++) {
    const candidate = Number(value.toPrecision(digits));
    if (Math.fround(candidate) === value) return candidate;
  }
  return Number(value.toPrecision(FLOAT32_DIGITS));
}
