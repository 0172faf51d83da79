/** Unit, integration and store tests; the Playground e2e runs on its own (`npm run test:e2e`). */
module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': 'ts-jest' },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/e2e/'],
  // adaptivecards' `main` is untranspiled ESM; its UMD bundle is the same SDK for Node.
  moduleNameMapper: { '^adaptivecards$': '<rootDir>/node_modules/adaptivecards/dist/adaptivecards.js' },
  // Hooks too: a new in-memory PGlite runs initdb in WASM, 6–8 s on a slow shared machine, and a
  // suite's beforeAll may open two while the other worker does the same.
  testTimeout: 60000,
  // The process tests run the production build (dist/); it is built once, before any test.
  globalSetup: '<rootDir>/test/global-build.ts',
};
