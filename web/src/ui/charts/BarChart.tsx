/**
 * A bar chart with its figures as a table: the SVG is for eyes and mice, the table (a native
 * disclosure under the chart) is the same data for screen readers and keyboards, so the chart
 * itself is one labelled image rather than hundreds of unlabelled SVG nodes.
 */
import { lazy, Suspense, useId } from "react";
import "./charts.css";

// recharts is loaded with the first chart shown, not with the app: most screens have none.
const BarPlot = lazy(() => import("./BarPlot"));

export interface BarDatum {
  label: string;
  value: number;
}

export interface BarChartProps {
  data: BarDatum[];
  /** What the chart shows; the figure's caption and the table's caption. */
  title: string;
  /** What a value is ("Revenue", "Logins"): the value column's header and the tooltip's name. */
  valueLabel: string;
  /** Formats a value for the axis, the tooltip and the table (default: the locale's number format). */
  format?: (value: number) => string;
}

const defaultFormat = (value: number) => value.toLocaleString();

export function BarChart({ data, title, valueLabel, format = defaultFormat }: BarChartProps) {
  const captionId = useId();
  if (data.length === 0) {
    return (
      <figure className="bar-chart" aria-labelledby={captionId}>
        <figcaption id={captionId}>{title}</figcaption>
        <p className="muted">No figures to show yet.</p>
      </figure>
    );
  }
  const summary = `${title}: bar chart of ${data.length} ${data.length === 1 ? "bar" : "bars"}, from ${data[0].label} to ${data[data.length - 1].label}. The figures are in the table below.`;
  return (
    <figure className="bar-chart" aria-labelledby={captionId}>
      <figcaption id={captionId}>{title}</figcaption>
      {/* role=img makes the SVG one node with a summary instead of hundreds of unlabelled ones. */}
      <div className="bar-chart-plot" role="img" aria-label={summary}>
        <Suspense fallback={<span className="bar-chart-loading">Drawing the chart…</span>}>
          <BarPlot data={data} valueLabel={valueLabel} format={format} />
        </Suspense>
      </div>
      <details className="bar-chart-figures">
        <summary>Figures as a table</summary>
        <div className="table-wrap">
          <table>
            <caption className="visually-hidden">{title}</caption>
            <thead>
              <tr>
                <th scope="col">Period</th>
                <th scope="col" className="number">{valueLabel}</th>
              </tr>
            </thead>
            <tbody>
              {data.map((datum) => (
                <tr key={datum.label}>
                  <th scope="row">{datum.label}</th>
                  <td className="number">{format(datum.value)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
}
