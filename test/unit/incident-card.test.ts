import { parseIncident } from '../../src/incidents/parse-incident';
import { renderIncidentCard } from '../../src/incidents/render-incident-card';
import { untrusted } from '../../src/cards/markdown';
import { cardProblems } from '../helpers/card-validation';
import { demoIncident, withProperties } from '../helpers/fixtures';

const portalUrl = 'https://portal.azure.com';

const texts = (node: unknown): string[] => {
  if (Array.isArray(node)) return node.flatMap(texts);
  if (node && typeof node === 'object') {
    const o = node as Record<string, unknown>;
    return [...(typeof o.text === 'string' ? [o.text] : []), ...(typeof o.value === 'string' ? [o.value] : []), ...Object.values(o).flatMap(texts)];
  }
  return [];
};

describe('the incident card', () => {
  it('is a valid Adaptive Card 1.5 with the verdict first', () => {
    const card = renderIncidentCard(parseIncident(demoIncident('brute-force-admin'), { portalUrl })).content;
    expect(cardProblems(card)).toEqual([]);
    expect(card.version).toBe('1.5');
    const [first, second] = texts(card);
    expect(first).toBe('🔴 HIGH · Incident #1041 · New');
    expect(second).toBe('Multiple failed sign\\-ins followed by success for a Global Administrator'.replace('\\-', '-'));
    expect(card.actions).toEqual([{ type: 'Action.OpenUrl', title: 'Open in Sentinel', url: expect.stringMatching(/^https:\/\/portal\.azure\.com\/#asset\//) }]);
    expect(card.speak).toBe('High severity incident 1041: Multiple failed sign-ins followed by success for a Global Administrator. Status New.');
  });

  it('is valid with the assign, comment and close forms, each input with its own id', () => {
    const card = renderIncidentCard(parseIncident(demoIncident('brute-force-admin'), { portalUrl }), undefined, new Date(), { rows: [], optionGroups: [], hasOpen: false, canWrite: true }).content;
    expect(cardProblems(card)).toEqual([]);
    const ids = JSON.stringify(card).match(/"id":"[^"]+"/g);
    expect(ids).toEqual(['"id":"details"', '"id":"comment"', '"id":"classification"', '"id":"closeComment"']);
  });

  it('cannot be made to carry links, markup or template expressions by the incident', () => {
    const hostile = withProperties(demoIncident('brute-force-admin'), {
      title: '[Reset your password](https://evil.example/login) **now** ${$root.url}',
      description: '# Heading\n- item\n<https://evil.example>\u202Egnp.exe',
      relatedEntities: [
        { kind: 'Url', properties: { url: 'https://evil.example/a' } },
        { kind: 'Account', properties: { accountName: '[x](https://evil.example)' } },
      ],
    });
    const all = texts(renderIncidentCard(parseIncident(hostile, { portalUrl })).content).join('\n');
    expect(all).not.toMatch(/\]\(https?:/);
    expect(all).not.toMatch(/(^|[^\\])\*\*/);
    expect(all).not.toMatch(/<https?:/);
    expect(all).not.toContain('https://evil');
    expect(all).not.toContain('\u202E');
    expect(all).toContain('hxxps\\[://\\]evil\\[.\\]example/a');
    expect(all).toContain('${$root.url}');
    expect(all).toContain('\\# Heading');
  });

  it('truncates very long values', () => {
    const long = withProperties(demoIncident('brute-force-admin'), { title: 'A'.repeat(10_000) });
    const [, title] = texts(renderIncidentCard(parseIncident(long, { portalUrl })).content);
    expect(title!.length).toBe(200);
    expect(title!.endsWith('…')).toBe(true);
  });

  it('cuts a long entity list with "…and N more" and says where the rest is; the incident keeps them all', () => {
    const many = withProperties(demoIncident('brute-force-admin'), {
      relatedEntities: Array.from({ length: 150 }, (_, n) => ({ kind: 'Ip', properties: { address: `198.51.100.${n}` } })),
    });
    const incident = parseIncident(many, { portalUrl });
    const all = texts(renderIncidentCard(incident).content).join('\n');
    expect(incident.entities).toHaveLength(150);
    expect(all).toContain('198.51.100.0');
    expect(all).not.toContain('198.51.100.149');
    expect(all).toContain('…and 135 more · `entities 1041` lists them all');
  });

  it('cuts long text at a character boundary, never inside a surrogate pair', () => {
    const title = `${'A'.repeat(198)}😀😀`;
    const [, shown] = texts(renderIncidentCard(parseIncident(withProperties(demoIncident('brute-force-admin'), { title }), { portalUrl })).content);
    expect(shown).toBe(`${'A'.repeat(198)}…`);
  });

  it.each([
    ['**bold**', '\\*\\*bold\\*\\*'],
    ['1. one', '1\\. one'],
    ['10.0.0.1 stays', '10.0.0.1 stays'],
    ['C:\\Windows', 'C:\\\\Windows'],
    ['see www.evil.example', 'see www\\[.\\]evil.example'],
  ])('escapes %j as %j', (input, output) => {
    expect(untrusted(input)).toBe(output);
  });
});
