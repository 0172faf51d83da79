/** The sandbox's one view of the demo world: a malicious and a clean address, a bad URL and file. */
export const MALICIOUS_IP = '203.0.113.66';
export const CLEAN_IP = '198.51.100.10';
export const MALICIOUS_URL = 'http://malware.example/stage2.ps1';
export const MALICIOUS_DOMAIN = 'malware.example';
export const MALICIOUS_SHA256 = '275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f';
