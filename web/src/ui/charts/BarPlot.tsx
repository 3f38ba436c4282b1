/** The drawn part of BarChart: recharts, loaded on demand (it is most of a chart page's script). */
import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { BarDatum } from "./BarChart";

// Matches --accent in styles.css; an SVG presentation attribute cannot read a CSS variable.
const BAR_COLOUR = "#1d4ed8";

export default function BarPlot({ data, valueLabel, format }: { data: BarDatum[]; valueLabel: string; format: (value: number) => string }) {
  return (
    <ResponsiveContainer width="100%" height="100%">
      {/* recharts' own keyboard layer is off: the figure's table gives keyboard and
          screen-reader users every figure, and the plot is one labelled image. */}
      <BarChart data={data} margin={{ top: 8, right: 8, bottom: 8, left: 8 }} accessibilityLayer={false}>
        <CartesianGrid strokeDasharray="3 3" vertical={false} />
        <XAxis dataKey="label" tickMargin={6} />
        <YAxis tickFormatter={(value: number) => format(value)} width="auto" />
        <Tooltip formatter={(value) => [format(Number(value)), valueLabel]} />
        <Bar dataKey="value" name={valueLabel} fill={BAR_COLOUR} maxBarSize={72} isAnimationActive={false} />
      </BarChart>
    </ResponsiveContainer>
  );
}
