import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(__dirname, '../..');

/** A JSON file under the repo, parsed fresh each time so tests can change their copy. */
export const fixture = <T = any>(relative: string): T => JSON.parse(fs.readFileSync(path.join(root, relative), 'utf8')) as T;

export const demoIncident = (name: string) => fixture(`demo/incidents/${name}.json`);

/** A deep copy of an incident envelope with `properties` changed. */
export function withProperties(envelope: any, changes: Record<string, unknown>): any {
  const copy = JSON.parse(JSON.stringify(envelope));
  Object.assign(copy.object.properties, changes);
  return copy;
}

/** A team channel Vigil is installed in, as the store keeps it. */
export const subscribedChannel = (id: string, teamId = 'team-1') => ({
  id,
  kind: 'channel' as const,
  teamId,
  serviceUrl: 'http://127.0.0.1:1/',
  reference: { conversation: { id, isGroup: true, conversationType: 'channel', name: 'SOC' } },
  subscribed: true,
});
