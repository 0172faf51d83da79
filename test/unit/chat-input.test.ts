import fc from 'fast-check';
import { canonicalTarget, findInvisible } from '../../src/actions/canonical-target';
import { lengthOf, MAX_MESSAGE, normaliseChatInput } from '../../src/bot/chat-input';
import { parseCommand } from '../../src/bot/commands';
import { controlCommandIn } from '../../src/bot/commands/kql';

const ZERO_WIDTH = ['\u200B', '\u200C', '\u200D', '\u2060', '\uFEFF'];

describe('chat input', () => {
  it('reads NFKC and drops zero-width characters, so the command word is found however it was typed', () => {
    expect(parseCommand('ｉｎｃｉｄｅｎｔ　４２')).toMatchObject({ name: 'incident', args: '42' });
    expect(parseCommand('inci\u200Bdent 42')).toMatchObject({ name: 'incident', args: '42' });
    expect(parseCommand('\uFEFFKQL SigninLogs\n| take 5')).toMatchObject({ name: 'kql', args: 'SigninLogs\n| take 5' });
    expect(parseCommand('nonsense 42')).toBeUndefined();
    expect(normaliseChatInput('a&nbsp;b\u00A0c')).toEqual({ text: 'a b c', asTyped: 'a b c' });
  });

  it('gives the target commands their arguments as typed, hidden characters and all, for them to refuse', () => {
    expect(parseCommand('dis\u200Bable break\u200Bglass@contoso.example')).toMatchObject({ name: 'disable', args: 'break\u200Bglass@contoso.example' });
    expect(parseCommand('disable \uFEFFbob@contoso.example')).toMatchObject({ args: '\uFEFFbob@contoso.example' });
    expect(parseCommand('comment 42 a\u200Bb')).toMatchObject({ args: '42 ab' });
  });

  it('any command word with zero-width characters sprinkled in, in any case, is still that command', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('help', 'incidents', 'incident', 'kql', 'oncall', 'ack', 'audit'),
        fc.array(fc.tuple(fc.nat(10), fc.constantFrom(...ZERO_WIDTH)), { maxLength: 4 }),
        fc.boolean(),
        (word, inserts, upper) => {
          const chars = [...(upper ? word.toUpperCase() : word)];
          for (const [at, zw] of inserts) chars.splice(at % (chars.length + 1), 0, zw);
          expect(parseCommand(`${chars.join('')} 7`)?.name).toBe(word);
        },
      ),
    );
  });

  it('counts characters as people do (code points), and the limit is 4,000', () => {
    expect(lengthOf('🚨'.repeat(3))).toBe(3);
    expect(MAX_MESSAGE).toBe(4000);
  });
});

describe('canonical targets', () => {
  it.each([
    ['break\u200Bglass@contoso.example', 'U+200B ZERO WIDTH SPACE'],
    ['\u202Eelpmaxe.osotnoc@ssalgkaerb', 'U+202E RIGHT-TO-LEFT OVERRIDE'],
    ['bob\u200E@contoso.example', 'U+200E LEFT-TO-RIGHT MARK'],
    ['bob\u061C@contoso.example', 'U+061C ARABIC LETTER MARK'],
    ['bob\u2067@contoso.example', 'U+2067 RIGHT-TO-LEFT ISOLATE'],
    ['bob\u00AD@contoso.example', 'U+00AD, an invisible control character'],
  ])('refuses %j, naming %s', (user, name) => {
    expect(canonicalTarget({ kind: 'disable-user', user })).toEqual({ ok: false, reason: expect.stringContaining(`(${name})`) });
  });

  it('NFKC, trimmed, case folded where case means nothing (not in a URL)', () => {
    expect(canonicalTarget({ kind: 'disable-user', user: ' ＢｒｅａｋＧｌａｓｓ＠ｃｏｎｔｏｓｏ．ｅｘａｍｐｌｅ ' })).toEqual({
      ok: true,
      target: { kind: 'disable-user', user: 'breakglass@contoso.example' },
    });
    expect(canonicalTarget({ kind: 'block-ip', ip: '２０３．０．１１３．７' })).toEqual({ ok: true, target: { kind: 'block-ip', ip: '203.0.113.7' } });
    expect(canonicalTarget({ kind: 'isolate-vm', host: 'ＤＣ－０１' })).toEqual({ ok: true, target: { kind: 'isolate-vm', host: 'dc-01' } });
    expect(canonicalTarget({ kind: 'add-indicator', type: 'url', indicator: 'https://Evil.example/Path' })).toEqual({
      ok: true,
      target: { kind: 'add-indicator', type: 'url', indicator: 'https://Evil.example/Path' },
    });
  });

  it('finds no invisible character in plain text, whatever it is', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme-ascii' }).filter((s) => !/[\x00-\x1f\x7f]/.test(s)),
        (s) => expect(findInvisible(s)).toBeUndefined(),
      ),
    );
  });
});

describe('kql control commands', () => {
  it.each([
    ['.drop table SigninLogs', '.drop'],
    ['   \n\t.show tables', '.show'],
    ['// clean up\n.set-or-append T <| print 1', '.set-or-append'],
    ['// one\n   // two\n\n.alter table T', '.alter'],
    ['SigninLogs | take 1;\n.drop table SigninLogs', '.drop'],
    ['SigninLogs | where x > .5', undefined],
    ['SigninLogs | take 5 // .drop table', undefined],
    ['let n = 5; SigninLogs | take n', undefined],
  ])('%j → %s', (query, control) => {
    expect(controlCommandIn(query)).toBe(control);
  });
});
