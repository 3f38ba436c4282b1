import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { BarChart } from "./BarChart";

describe("BarChart", () => {
  it("gives the same figures as a table, formatted, under a caption", () => {
    const html = renderToStaticMarkup(
      <BarChart
        title="Revenue by month"
        valueLabel="Revenue"
        data={[
          { label: "2025-01", value: 1250 },
          { label: "2025-02", value: 0 },
        ]}
        format={(v) => `${(v / 100).toFixed(2)} EUR`}
      />,
    );
    expect(html).toContain("<figcaption");
    expect(html).toContain("Revenue by month");
    expect(html).toMatch(/<th scope="row">2025-01<\/th><td class="number">12\.50 EUR<\/td>/);
    expect(html).toMatch(/<th scope="row">2025-02<\/th><td class="number">0\.00 EUR<\/td>/);
    expect(html).toContain('<th scope="col" class="number">Revenue</th>');
    // The plot is one labelled image whose label points at the table.
    expect(html).toMatch(/role="img" aria-label="Revenue by month: bar chart of 2 bars, from 2025-01 to 2025-02\./);
  });

  it("says there is nothing to show instead of drawing empty axes", () => {
    const html = renderToStaticMarkup(<BarChart title="Logins" valueLabel="Logins" data={[]} />);
    expect(html).toContain("No figures to show yet.");
    expect(html).not.toContain("<table");
    expect(html).not.toContain('role="img"');
  });
});
