/** The Playground end-to-end test: one browser, one stack, in band. */
module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': 'ts-jest' },
  testMatch: ['<rootDir>/test/e2e/**/*.e2e.test.ts'],
  testTimeout: 60000,
  // Child-process pipes (Chromium's, the Playground's) can outlive their processes by a moment;
  // everything is stopped in afterAll, so don't let a lingering pipe hold CI.
  forceExit: true,
};
