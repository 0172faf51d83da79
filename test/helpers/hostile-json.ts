import fc from 'fast-check';

/**
 * Any JSON value, small, whose strings are arbitrary (binary too) or one of `suspects` — values a
 * parser of the attacker's payloads must turn into a refusal or a clean result, never a crash.
 */
export function hostileJson(suspects: string[]): fc.Arbitrary<unknown> {
  const hostileString = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constantFrom(...suspects));
  return fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      hostileString,
      fc.double(),
      fc.integer(),
      fc.constantFrom(2 ** 31, 2 ** 53, -(2 ** 31), Number.MAX_SAFE_INTEGER, 0),
      fc.boolean(),
      fc.constant(null),
      fc.array(tie('value'), { maxLength: 4 }),
      fc.dictionary(hostileString, tie('value'), { maxKeys: 4 }),
    ),
  })).value;
}
