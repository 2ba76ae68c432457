import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, HIPAASecurityChecks, type NagPack } from 'cdk-nag';

/** The rule packs this project must pass (DESIGN D8). */
export function nagPacks(): NagPack[] {
  return [new AwsSolutionsChecks(), new HIPAASecurityChecks()];
}

/**
 * Registers the packs on the app: synth fails on any unacknowledged error and writes the findings to
 * cdk.out. Acknowledgements live next to the resource they concern, each with its reason.
 */
export function applyNagPacks(app: App): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new HIPAASecurityChecks(app));
}
