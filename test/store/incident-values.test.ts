import { parseIncident } from '../../src/incidents/parse-incident';
import type { Db } from '../../src/store/db';
import { getIncident, getIncidentByNumber, upsertIncident } from '../../src/store/incident-repository';
import { demoIncident, withProperties } from '../helpers/fixtures';
import { emptyTables, storeDrivers } from '../helpers/store-drivers';

const portalUrl = 'https://portal.azure.com';

/** Values that once made PostgreSQL refuse the write (a 500 and a lost incident): stored now, on both drivers. */
describe.each(storeDrivers())('incident values on $name', (driver) => {
  let db: Db;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    ({ db, drop } = await driver.open());
  });
  afterAll(async () => {
    await drop();
  });
  beforeEach(async () => {
    await emptyTables(db);
  });

  const incident = (name: string, changes: Record<string, unknown>) => {
    const body = withProperties(demoIncident('brute-force-admin'), changes);
    body.object.id = body.object.id.replace(/[^/]+$/, name);
    return parseIncident(body, { portalUrl });
  };

  it('keeps incident numbers past 32 bits, up to 2^53 - 1, in a bigint column', async () => {
    const column = await db.query<{ data_type: string }>(
      "SELECT data_type FROM information_schema.columns WHERE table_name = 'incidents' AND column_name = 'number' AND table_schema = current_schema()",
    );
    expect(column.rows[0]?.data_type).toBe('bigint');
    for (const [name, n] of [
      ['n31', 2 ** 31],
      ['n32', 2 ** 32 + 7],
      ['nmax', Number.MAX_SAFE_INTEGER],
    ] as const) {
      expect((await upsertIncident(db, incident(name, { incidentNumber: n }))).kind).toBe('created');
      expect((await getIncidentByNumber(db, n))?.incident.number).toBe(n);
    }
  });

  it('stores the well-formed text the parser gives for NUL and lone surrogates, in columns and in the JSON', async () => {
    const i = incident('nul', {
      title: 'a\u0000b\ud800',
      labels: [{ labelName: '\udc00' }],
      relatedEntities: [{ kind: 'Process', properties: { commandLine: 'x\u0000y' } }],
    });
    expect((await upsertIncident(db, i)).kind).toBe('created');
    const stored = (await getIncident(db, i.id))!.incident;
    expect(stored).toMatchObject({ title: 'a\ufffdb\ufffd', labels: ['\ufffd'], entities: [{ value: 'x\ufffdy' }] });
    expect((await db.query<{ title: string }>('SELECT title FROM incidents')).rows[0]!.title).toBe('a\ufffdb\ufffd');
  });

  it('stores times at both ends of the accepted range', async () => {
    const i = incident('edges', { createdTimeUtc: '1970-01-01T00:00:00Z', lastModifiedTimeUtc: '9999-12-31T23:59:59.9999999Z' });
    expect((await upsertIncident(db, i)).kind).toBe('created');
    const row = (await db.query<{ created_at: Date; last_modified_at: Date }>('SELECT created_at, last_modified_at FROM incidents')).rows[0]!;
    expect(new Date(row.created_at).toISOString()).toBe('1970-01-01T00:00:00.000Z');
    expect(new Date(row.last_modified_at).toISOString()).toBe('9999-12-31T23:59:59.999Z');
  });
});
