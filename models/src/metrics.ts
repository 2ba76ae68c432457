/** Classification metrics for the model card, the same definitions as models/training/train.py. */

/** ROC AUC as the Mann-Whitney statistic: P(score of a random positive > a random negative), ties half. */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const items = Array.from({ length: scores.length }, (_, i) => ({ s: scores[i]!, y: labels[i]! }));
  items.sort((a, b) => a.s - b.s);
  let positives = 0;
  let rankSum = 0;
  for (let i = 0; i < items.length; ) {
    let j = i;
    while (j < items.length && items[j]!.s === items[i]!.s) j++;
    const midRank = (i + 1 + j) / 2; // 1-based average rank of the tied run
    for (let k = i; k < j; k++) {
      if (items[k]!.y === 1) {
        positives++;
        rankSum += midRank;
      }
    }
    i = j;
  }
  const negatives = items.length - positives;
  if (positives === 0 || negatives === 0) throw new RangeError('ROC AUC needs positives and negatives');
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** Sensitivity and specificity when `score >= threshold` counts as positive. */
export function operatingPoint(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  threshold: number,
): { sensitivity: number; specificity: number } {
  let tp = 0;
  let fn = 0;
  let tn = 0;
  let fp = 0;
  for (let i = 0; i < scores.length; i++) {
    const predicted = scores[i]! >= threshold;
    if (labels[i] === 1) predicted ? tp++ : fn++;
    else predicted ? fp++ : tn++;
  }
  return { sensitivity: tp / Math.max(tp + fn, 1), specificity: tn / Math.max(tn + fp, 1) };
}
