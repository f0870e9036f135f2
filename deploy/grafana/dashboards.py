"""The Grafana dashboards of otel-apisec, as code (grafana-foundation-sdk, the Grafana 11.6 build).

    python deploy/grafana/dashboards.py            # write deploy/grafana/dashboards/*.json
    python deploy/grafana/dashboards.py --check    # exit 1 when a committed file is stale

The JSON files are committed and provisioned by the compose stack (deploy/grafana/provisioning/).
Every query uses the metrics the gateway exports on its Prometheus `/metrics`
(otel_apisec/gateway/selfmetrics.py); tests/deploy/test_dashboards.py checks that against a
real gateway's scrape and that the committed files are what this script writes.

Two replicas sharing Redis both report the merged API estate, so the estate gauges are read
with `max by (service)`; counters are per replica and summed. The `service` variable filters the
estate, findings and auth panels alike (all carry `service`; "All" also keeps findings of spans
without a service name).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from grafana_foundation_sdk.builders import bargauge, common, stat, table, timeseries
from grafana_foundation_sdk.builders import dashboard as gd
from grafana_foundation_sdk.builders import prometheus as prom
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm
from grafana_foundation_sdk.models import prometheus as pm

OUT_DIR = Path(__file__).resolve().parent / "dashboards"
DATASOURCE = dm.DataSourceRef(type_val="prometheus", uid="${datasource}")
RATE = "$__rate_interval"
TAGS = ["otel-apisec"]

SEVERITY_COLORS = {"critical": "dark-red", "high": "red", "medium": "orange", "low": "yellow", "info": "blue"}
# Governance grade bands (otel_apisec/estate/governance.py grade_of): F < 60 <= D < 70 <= C < 80 <= B < 90 <= A.
GRADE_STEPS = [dm.Threshold(None, "red"), dm.Threshold(60, "orange"), dm.Threshold(70, "yellow"),
               dm.Threshold(80, "light-green"), dm.Threshold(90, "green")]


# ---------------------------------------------------------------------------------------------------------------
# Small helpers over the SDK's builders


def query(expr: str, legend: str = "", ref: str = "A", *, instant: bool = False, table_format: bool = False) -> prom.Dataquery:
    q = prom.Dataquery().expr(expr).ref_id(ref).datasource(DATASOURCE)
    if legend:
        q = q.legend_format(legend)
    if instant:
        q = q.instant()
    else:
        q = q.range()
    if table_format:
        q = q.format(pm.PromQueryFormat.TABLE)
    return q


def thresholds(*steps: tuple[float | None, str]) -> gd.ThresholdsConfig:
    return gd.ThresholdsConfig().mode(dm.ThresholdsMode.ABSOLUTE).steps([dm.Threshold(v, c) for v, c in steps])


def legend_table() -> common.VizLegendOptions:
    return (common.VizLegendOptions().display_mode(cm.LegendDisplayMode.TABLE).placement(cm.LegendPlacement.RIGHT)
            .show_legend(True).calcs(["mean", "max"]))


def series_panel(title: str, description: str, expr: str, legend: str, *, unit: str = "ops", stacked: bool = True,
                 width: int = 12, height: int = 8) -> timeseries.Panel:
    """A time series, of per-second rates by default, stacked by default (the parts of a whole)."""
    panel = (timeseries.Panel().title(title).description(description).datasource(DATASOURCE)
             .with_target(query(expr, legend)).unit(unit).min(0).fill_opacity(25).line_width(1)
             .legend(legend_table()).span(width).height(height)
             .tooltip(common.VizTooltipOptions().mode(cm.TooltipDisplayMode.MULTI).sort(cm.SortOrder.DESCENDING)))
    if stacked:
        panel = panel.stacking(common.StackingConfig().mode(cm.StackingMode.NORMAL))
    return panel


def stat_panel(title: str, description: str, expr: str, *, steps: tuple[tuple[float | None, str], ...],
               unit: str = "short", width: int = 6, height: int = 4) -> stat.Panel:
    """One number; 0 when the series does not exist yet (a counter nothing has incremented)."""
    return (stat.Panel().title(title).description(description).datasource(DATASOURCE)
            .with_target(query(f"{expr} or vector(0)", instant=True)).unit(unit).span(width).height(height)
            .thresholds(thresholds(*steps)).color_mode(cm.BigValueColorMode.BACKGROUND)
            .graph_mode(cm.BigValueGraphMode.NONE)
            .reduce_options(common.ReduceDataOptions().calcs(["lastNotNull"]).values(False)))


def bar_panel(title: str, description: str, expr: str, legend: str, *, steps: tuple[tuple[float | None, str], ...],
              unit: str = "short", width: int = 12, height: int = 8, max_value: float | None = None) -> bargauge.Panel:
    panel = (bargauge.Panel().title(title).description(description).datasource(DATASOURCE)
             .with_target(query(expr, legend, instant=True)).unit(unit).min(0).span(width).height(height)
             .thresholds(thresholds(*steps)).display_mode(cm.BarGaugeDisplayMode.GRADIENT)
             .orientation(cm.VizOrientation.HORIZONTAL)
             .reduce_options(common.ReduceDataOptions().calcs(["lastNotNull"]).values(False)))
    if max_value is not None:
        panel = panel.max(max_value)
    return panel


def severity_colors(panel: timeseries.Panel) -> timeseries.Panel:
    """One fixed color per severity, so "critical" is always the same red."""
    for severity, color in SEVERITY_COLORS.items():
        panel = panel.override_by_name(severity, [fixed_color(color)])
    return panel


def fixed_color(color: str) -> dm.DynamicConfigValue:
    return dm.DynamicConfigValue("color", {"mode": "fixed", "fixedColor": color})


def datasource_variable() -> gd.DatasourceVariable:
    return gd.DatasourceVariable("datasource").label("Data source").type("prometheus")


def label_variable(name: str, label: str, metric: str, description: str) -> gd.QueryVariable:
    """A multi-value variable over the values of `name` on `metric`, "All" meaning any (`.*`)."""
    return (gd.QueryVariable(name).label(label).description(description).datasource(DATASOURCE)
            .query({"query": f"label_values({metric}, {name})", "refId": f"{name}-values"})
            .refresh(dm.VariableRefresh.ON_TIME_RANGE_CHANGED).sort(dm.VariableSort.ALPHABETICAL_ASC)
            .multi(True).include_all(True).all_value(".*")
            .current(dm.VariableOption(selected=True, text="All", value="$__all")))


def base(uid: str, title: str, description: str) -> gd.Dashboard:
    return (gd.Dashboard(title).uid(uid).description(description).tags(TAGS).editable().time("now-6h", "now")
            .refresh("30s").timezone("browser").tooltip(dm.DashboardCursorSync.CROSSHAIR)
            .link(gd.DashboardLink("otel-apisec").type(dm.DashboardLinkType.DASHBOARDS).tags(TAGS).as_dropdown(True)
                  .include_vars(False).keep_time(True)))


def numbered(board: gd.Dashboard) -> gd.Dashboard:
    """Stable panel ids, in layout order (Grafana keys panel state and links on them)."""
    built = board.build()
    for index, panel in enumerate(built.panels or [], start=1):
        panel.id_val = index
    return board


# ---------------------------------------------------------------------------------------------------------------
# The dashboards

SVC = 'service=~"$service"'
SEV = 'severity=~"$severity"'


def security_overview() -> gd.Dashboard:
    board = (base("otel-apisec-security", "otel-apisec: security overview",
                  "What the traffic showed: findings, auth outcomes, open alerts, and the API estate's grades, "
                  "unauthenticated endpoints and spec drift per service.")
             .with_variable(datasource_variable())
             .with_variable(label_variable("service", "Service", "otel_apisec_estate_endpoints",
                                           "The API estate's services (estate, findings and auth panels)"))
             .with_variable(label_variable("severity", "Severity", "otel_apisec_findings_total",
                                           "Finding severities (findings panels)")))

    board = (board.with_row(gd.Row("Now"))
             .with_panel(stat_panel("Active alerts", "Alert groups open (firing, not yet resolved), over all replicas",
                                    "sum(otel_apisec_alerts_active)", steps=((None, "green"), (1, "red"))))
             .with_panel(stat_panel("Unauthenticated endpoints",
                                    "Endpoints that answered a call without credentials successfully",
                                    f"sum(max by (service) (otel_apisec_estate_unauthenticated_endpoints{{{SVC}}}))",
                                    steps=((None, "green"), (1, "orange"))))
             .with_panel(stat_panel("Shadow and zombie endpoints",
                                    "Endpoints seen in traffic but not in the spec (shadow) or deprecated there (zombie)",
                                    f'sum(max by (service, spec_status) (otel_apisec_estate_endpoints{{{SVC}, '
                                    f'spec_status=~"shadow|zombie"}}))',
                                    steps=((None, "green"), (1, "orange"))))
             .with_panel(stat_panel("High and critical findings",
                                    "High and critical findings in the time range, over all replicas",
                                    f'sum(increase(otel_apisec_findings_total{{severity=~"high|critical", {SEV}, '
                                    f'{SVC}}}[$__range]))',
                                    steps=((None, "green"), (1, "red")), unit="short")))

    board = (board.with_row(gd.Row("Findings"))
             .with_panel(severity_colors(series_panel(
                 "Findings by severity", "Findings per second, per request and across requests",
                 f"sum by (severity) (rate(otel_apisec_findings_total{{{SEV}, {SVC}}}[{RATE}]))", "{{severity}}")))
             .with_panel(series_panel("Findings by kind", "Findings per second by kind (pii.*, injection.*, auth.*, ...)",
                                      f"sum by (kind) (rate(otel_apisec_findings_total{{{SEV}, {SVC}}}[{RATE}]))", "{{kind}}"))
             .with_panel(series_panel("Findings by route (top 10)", "The most-attacked routes: findings per second",
                                      f"topk(10, sum by (service, route) "
                                      f"(rate(otel_apisec_findings_total{{{SEV}, {SVC}}}[{RATE}])))",
                                      "{{service}} {{route}}", stacked=False))
             .with_panel(table.Panel().title("Findings by rule in the time range")
                         .description("Findings per rule, kind, severity, service and route over the dashboard's "
                                      "time range")
                         .datasource(DATASOURCE).span(12).height(8)
                         .with_target(query("sort_desc(sum by (rule_id, kind, severity, service, route) "
                                            f"(increase(otel_apisec_findings_total{{{SEV}, {SVC}}}[$__range])) > 0)",
                                            instant=True, table_format=True))
                         .with_transformation(dm.DataTransformerConfig(
                             id_val="organize", options={"excludeByName": {"Time": True},
                                                         "renameByName": {"Value": "findings"}}))
                         .sort_by([common.TableSortByFieldState().display_name("findings").desc(True)])))

    board = (board.with_row(gd.Row("Authentication"))
             .with_panel(series_panel("Auth outcomes", "Analysed requests per second by auth outcome "
                                      "(success, failure, anonymous)",
                                      f"sum by (outcome) (rate(otel_apisec_auth_outcomes_total{{{SVC}}}[{RATE}]))", "{{outcome}}")
                         .override_by_name("failure", [fixed_color("red")])
                         .override_by_name("success", [fixed_color("green")])
                         .override_by_name("anonymous", [fixed_color("blue")]))
             .with_panel(series_panel("Auth failures by route (top 10)", "Requests per second whose credentials failed",
                                      f'topk(10, sum by (service, route, scheme) (rate(otel_apisec_auth_outcomes_total'
                                      f'{{outcome="failure", {SVC}}}[{RATE}])))', "{{service}} {{route}} ({{scheme}})",
                                      stacked=False)))

    board = (board.with_row(gd.Row("API estate"))
             .with_panel(bar_panel("Grade per service", "Governance score per service, 0-100: "
                                   "A from 90, B from 80, C from 70, D from 60, F below",
                                   f"max by (service) (otel_apisec_estate_grade_score{{{SVC}}})", "{{service}}",
                                   steps=tuple((t.value, t.color) for t in GRADE_STEPS), max_value=100, width=8))
             .with_panel(bar_panel("Unauthenticated endpoints per service",
                                   "Endpoints that answered a call without credentials successfully",
                                   f"max by (service) (otel_apisec_estate_unauthenticated_endpoints{{{SVC}}})",
                                   "{{service}}", steps=((None, "green"), (1, "orange")), width=8))
             .with_panel(bar_panel("Endpoints by spec status",
                                   "documented, shadow (not in the spec), zombie (deprecated), orphan (in the spec, "
                                   "never called), unknown (no spec)",
                                   f"sum by (spec_status) (max by (service, spec_status) "
                                   f"(otel_apisec_estate_endpoints{{{SVC}}}))",
                                   "{{spec_status}}", steps=((None, "blue"),), width=8))
             .with_panel(series_panel("Grade over time", "Governance score per service over time",
                                      f"max by (service) (otel_apisec_estate_grade_score{{{SVC}}})", "{{service}}",
                                      unit="none", stacked=False, width=24)
                         .max(100).thresholds(gd.ThresholdsConfig().mode(dm.ThresholdsMode.ABSOLUTE).steps(GRADE_STEPS))
                         .thresholds_style(common.GraphThresholdsStyleConfig().mode(cm.GraphThresholdsStyleMode.AREA))))
    return numbered(board)


INSTANCE = 'instance=~"$instance"'


def pipeline_health() -> gd.Dashboard:
    board = (base("otel-apisec-pipeline", "otel-apisec: gateway pipeline health",
                  "The gateway's own pipeline: items received, refused, exported and dropped, exporter queues "
                  "and retries, processor errors and detector failures, per replica.")
             .with_variable(datasource_variable())
             .with_variable(label_variable("instance", "Replica", "otel_apisec_gateway_received_items_total",
                                           "The gateway replicas Prometheus scrapes")))

    board = (board.with_row(gd.Row("In the time range"))
             .with_panel(stat_panel("Received", "Items (spans, metric points, log records) accepted by the receivers",
                                    f"sum(increase(otel_apisec_gateway_received_items_total{{{INSTANCE}}}[$__range]))",
                                    steps=((None, "blue"),)))
             .with_panel(stat_panel("Refused", "Items refused because a queue was full (the sender retries)",
                                    f"sum(increase(otel_apisec_gateway_refused_items_total{{{INSTANCE}}}[$__range]))",
                                    steps=((None, "green"), (1, "orange"))))
             .with_panel(stat_panel("Dropped", "Items given up on: non-retryable error, or shutdown timeout",
                                    f"sum(increase(otel_apisec_gateway_dropped_items_total{{{INSTANCE}}}[$__range]))",
                                    steps=((None, "green"), (1, "red"))))
             .with_panel(stat_panel("Detector failures", "Detectors that raised or ran out of time on a request",
                                    f"sum(increase(otel_apisec_detector_failures_total{{{INSTANCE}}}[$__range]))",
                                    steps=((None, "green"), (1, "red")))))

    board = (board.with_row(gd.Row("Throughput"))
             .with_panel(series_panel("Received items", "Items per second accepted by each receiver, by signal",
                                      f"sum by (receiver, signal) (rate(otel_apisec_gateway_received_items_total"
                                      f"{{{INSTANCE}}}[{RATE}]))", "{{receiver}} {{signal}}"))
             .with_panel(series_panel("Exported items", "Items per second the backends accepted, per exporter",
                                      f"sum by (exporter) (rate(otel_apisec_gateway_exported_items_total"
                                      f"{{{INSTANCE}}}[{RATE}]))", "{{exporter}}"))
             .with_panel(series_panel("Refused items", "Items per second refused because a queue was full",
                                      f"sum by (receiver, signal) (rate(otel_apisec_gateway_refused_items_total"
                                      f"{{{INSTANCE}}}[{RATE}]))", "{{receiver}} {{signal}}"))
             .with_panel(series_panel("Dropped and rejected items",
                                      "Items per second given up on (dropped) or refused by the backend (rejected)",
                                      f"sum by (exporter) (rate(otel_apisec_gateway_dropped_items_total{{{INSTANCE}}}[{RATE}]))",
                                      "dropped {{exporter}}")
                         .with_target(query(f"sum by (exporter) (rate(otel_apisec_gateway_rejected_items_total"
                                            f"{{{INSTANCE}}}[{RATE}]))", "rejected {{exporter}}", "B"))))

    board = (board.with_row(gd.Row("Exporters"))
             .with_panel(series_panel("Queue depth", "Requests waiting in each exporter's queue, per replica",
                                      f"max by (instance, exporter) (otel_apisec_gateway_queue_depth{{{INSTANCE}}})",
                                      "{{exporter}} {{instance}}", unit="short", stacked=False))
             .with_panel(series_panel("Export retries", "Export attempts per second retried after a retryable failure",
                                      f"sum by (exporter) (rate(otel_apisec_gateway_export_retries_total"
                                      f"{{{INSTANCE}}}[{RATE}]))", "{{exporter}}")))

    board = (board.with_row(gd.Row("Processing"))
             .with_panel(series_panel("Processor errors", "Items per second a processor failed on (masked strictly, or dropped)",
                                      f"sum by (processor) (rate(otel_apisec_gateway_processor_errors_total"
                                      f"{{{INSTANCE}}}[{RATE}]))", "{{processor}}"))
             .with_panel(series_panel("Detector failures",
                                      "Detectors or detector steps per second that raised or ran out of time",
                                      f"sum by (detector, reason) (rate(otel_apisec_detector_failures_total"
                                      f"{{{INSTANCE}}}[{RATE}]))", "{{detector}} {{reason}}"))
             .with_panel(series_panel("Processor outcomes", "Items per second by processor and outcome "
                                      "(the filter's kept and dropped spans, store errors, ...)",
                                      f"sum by (processor, outcome) (rate(otel_apisec_gateway_processor_items_total"
                                      f"{{{INSTANCE}}}[{RATE}]))", "{{processor}} {{outcome}}", stacked=False))
             .with_panel(series_panel("Connections refused and closed",
                                      "OTLP/HTTP connections refused past max_connections, and closed for slowness or idleness",
                                      f"sum by (receiver) (rate(otel_apisec_gateway_refused_connections_total"
                                      f"{{{INSTANCE}}}[{RATE}]))", "refused {{receiver}}", stacked=False)
                         .with_target(query(f"sum by (receiver, reason) (rate(otel_apisec_gateway_closed_connections_total"
                                            f"{{{INSTANCE}}}[{RATE}]))", "closed {{receiver}} {{reason}}", "B"))))
    return numbered(board)


DASHBOARDS: dict[str, Callable[[], gd.Dashboard]] = {
    "otel-apisec-security.json": security_overview,
    "otel-apisec-pipeline.json": pipeline_health,
}


def render(board: gd.Dashboard) -> str:
    """The dashboard's JSON as committed: sorted keys, two-space indent, a final newline."""
    return json.dumps(board.build(), cls=JSONEncoder, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def rendered() -> dict[str, str]:
    """File name -> the JSON this script writes."""
    return {name: render(make()) for name, make in DASHBOARDS.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 when a committed file is stale")
    parser.add_argument("--out", type=Path, default=OUT_DIR, help=f"output directory (default: {OUT_DIR})")
    args = parser.parse_args(argv)
    stale = []
    for name, text in rendered().items():
        path = args.out / name
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        stale.append(name)
        if not args.check:
            args.out.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    if args.check and stale:
        print(f"stale: {', '.join(stale)}; run python deploy/grafana/dashboards.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
