import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Notifier, PublishInput } from '../ports/notifier.port.ts';

/**
 * Notifications written as text files (`medimg process --infer`, where there is no SNS topic): one
 * `<n>.txt` per message with its subject and body, and `onPublish` to print it as well.
 */
export class FileNotifier implements Notifier {
  private count = 0;
  readonly published: { file: string; input: PublishInput }[] = [];

  constructor(
    private readonly directory: string,
    private readonly onPublish?: (input: PublishInput, file: string) => void,
  ) {}

  async publish(input: PublishInput): Promise<string> {
    this.count += 1;
    const id = `notification-${String(this.count).padStart(3, '0')}`;
    const file = path.join(this.directory, `${id}.txt`);
    await mkdir(this.directory, { recursive: true });
    await writeFile(file, `Subject: ${input.subject}\n\n${input.message}\n`);
    this.published.push({ file, input });
    this.onPublish?.(input, file);
    return id;
  }
}
