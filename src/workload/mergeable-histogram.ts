// The latency histogram of a workload split over worker processes: an HdrHistogram (hdr-histogram-js)
// that travels between processes in HdrHistogram's own compressed format, so the run adds the
// workers' histograms bucket by bucket and its percentiles are those of one histogram over every
// request. Node's perf_hooks histogram (the in-process path) can be neither encoded nor decoded.
import * as hdr from 'hdr-histogram-js';
import { JsHistogram, type Histogram } from 'hdr-histogram-js';
import type { LatencyHistogram } from './recorder.js';

/** The pure-JS histogram (hdr-histogram-js also has a WebAssembly one, never asked for here). */
function jsHistogram(histogram: Histogram): JsHistogram {
  if (!(histogram instanceof JsHistogram)) throw new TypeError('expected a JsHistogram from hdr-histogram-js');
  return histogram;
}

export class MergeableHistogram implements LatencyHistogram {
  private readonly histogram: JsHistogram;

  constructor(histogram: Histogram = hdr.build()) {
    this.histogram = jsHistogram(histogram);
  }

  static decode(encoded: string): MergeableHistogram {
    return new MergeableHistogram(hdr.decodeFromCompressedBase64(encoded));
  }

  record(micros: number): void {
    this.histogram.recordValue(micros);
  }

  get count(): number {
    return this.histogram.totalCount;
  }

  // Extremes as the bucket bounds, never the exact values: a decoded histogram only knows its
  // buckets, so this is what makes a merged histogram read the same as one recorded in place.
  get min(): number {
    return this.count === 0 ? 0 : this.histogram.lowestEquivalentValue(this.histogram.minNonZeroValue);
  }

  get max(): number {
    return this.count === 0 ? 0 : this.histogram.highestEquivalentValue(this.histogram.maxValue);
  }

  get mean(): number {
    return this.histogram.mean;
  }

  percentile(percentile: number): number {
    return this.histogram.getValueAtPercentile(percentile);
  }

  add(other: MergeableHistogram): void {
    this.histogram.add(other.histogram);
  }

  /** HdrHistogram's compressed V2 encoding in base64: what HdrHistogram's tools and logs read too. */
  encode(): string {
    return hdr.encodeIntoCompressedBase64(this.histogram);
  }
}
