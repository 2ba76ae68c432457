/** A TaskRunner that records its calls (test support: it stands in for our own port, not the SDK). */
import { TaskLaunchError } from '../errors.ts';
import type { RunTaskInput, TaskRunner } from '../ports.ts';

export class RecordingTaskRunner implements TaskRunner {
  readonly calls: RunTaskInput[] = [];
  /** Calls to refuse (each refusal consumes one), as ECS would with a capacity failure. */
  failNext = 0;

  async runTask(input: RunTaskInput): Promise<{ taskArn: string }> {
    this.calls.push(input);
    if (this.failNext > 0) {
      this.failNext--;
      throw new TaskLaunchError('TASK_LAUNCH_CAPACITY', 'refused by the test', { attempts: 1 });
    }
    return { taskArn: `arn:aws:ecs:us-east-1:000000000000:task/local/${this.calls.length}` };
  }
}
