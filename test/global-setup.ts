// Placeholder until the test environment lands (testenv/): nothing to bring up yet.
export default async function setup(): Promise<void> {}
