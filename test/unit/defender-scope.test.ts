import { defenderScope } from '../../src/actions/executors/defender-client';

describe('Defender token scope', () => {
  it.each([
    ['https://api.securitycenter.microsoft.com', 'https://api.securitycenter.microsoft.com/.default'],
    ['https://api.security.microsoft.com/', 'https://api.securitycenter.microsoft.com/.default'],
    ['https://eu.api.security.microsoft.com', 'https://api.securitycenter.microsoft.com/.default'],
    ['https://api-gcc.securitycenter.microsoft.us', 'https://api-gcc.securitycenter.microsoft.us/.default'],
    ['https://api-gov.securitycenter.microsoft.us/api', 'https://api-gov.securitycenter.microsoft.us/.default'],
    ['http://127.0.0.1:7005', 'http://127.0.0.1:7005/.default'],
  ])('%s takes tokens for %s', (endpoint, scope) => {
    expect(defenderScope(endpoint)).toBe(scope);
  });
});
