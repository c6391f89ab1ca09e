"""The alert code table: default priority, technical or clinical, and zh-CN / en message templates.

Templates are `str.format` strings over the candidate's `params`; a missing parameter leaves the
template's fallback text (see `render`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from alerts.model import Priority


@dataclass(frozen=True, slots=True)
class CodeSpec:
    """`emergency` codes (a call for help, a fall, a silent home) sort above every priority.
    `combines`: the codes a combined finding (`cv.*`) is made of; while it is open their alerts
    are part of its episode (`alerts.combined`)."""

    code: str
    priority: Priority
    en: str
    zh: str
    technical: bool = False
    emergency: bool = False
    combines: frozenset[str] = frozenset()


_H, _M, _L = Priority.HIGH, Priority.MEDIUM, Priority.LOW

_CODE_LIST: Final = (
    CodeSpec(
        "emergency.sos",
        _H,
        "SOS: emergency button pressed on {device_id}{where}",
        "紧急呼叫：{device_id} 的紧急按钮被按下{where_zh}",
        emergency=True,
    ),
    CodeSpec(
        "emergency.fall",
        _H,
        "Fall detected by {device_id}{where}",
        "{device_id} 检测到跌倒{where_zh}",
        emergency=True,
    ),
    CodeSpec(
        "emergency.inactivity",
        _H,
        "Wellness check: no activity from any device for {hours:.1f} h (usually at most "
        "{usual_hours:.1f} h); the elder lives alone",
        "安康探访：独居老人所有设备已 {hours:.1f} 小时无活动（平时最长 {usual_hours:.1f} 小时）",
        emergency=True,
    ),
    CodeSpec(
        "bp.hypertensive_crisis",
        _H,
        "Hypertensive crisis: BP {systolic:.0f}/{diastolic:.0f} mmHg",
        "高血压危象：血压 {systolic:.0f}/{diastolic:.0f} mmHg",
    ),
    CodeSpec(
        "bp.hypotension",
        _M,
        "Low blood pressure: BP {systolic:.0f}/{diastolic:.0f} mmHg",
        "低血压：血压 {systolic:.0f}/{diastolic:.0f} mmHg",
    ),
    CodeSpec(
        "bp.repeat_measurement",
        _L,
        "Very high or doubtful BP {systolic:.0f}/{diastolic:.0f} mmHg: please rest 5 minutes "
        "and measure again",
        "血压 {systolic:.0f}/{diastolic:.0f} mmHg 过高或可疑：请休息 5 分钟后复测",
    ),
    CodeSpec(
        "bp.uncontrolled",
        _L,
        "Blood pressure above target: average {systolic:.0f}/{diastolic:.0f} mmHg over "
        "{count} readings; consider review by the family doctor",
        "血压未达标：{count} 次平均 {systolic:.0f}/{diastolic:.0f} mmHg，建议家庭医生复诊",
    ),
    CodeSpec(
        "glucose.urgent_low",
        _H,
        "Urgent low glucose: {glucose:.1f} mmol/L",
        "严重低血糖：{glucose:.1f} mmol/L",
    ),
    CodeSpec(
        "glucose.low", _M, "Low glucose: {glucose:.1f} mmol/L", "低血糖：{glucose:.1f} mmol/L"
    ),
    CodeSpec(
        "glucose.high", _M, "High glucose: {glucose:.1f} mmol/L", "高血糖：{glucose:.1f} mmol/L"
    ),
    CodeSpec(
        "glucose.predicted_low",
        _M,
        "Glucose predicted to fall below {limit:.1f} mmol/L within {minutes:.0f} min",
        "预计 {minutes:.0f} 分钟内血糖低于 {limit:.1f} mmol/L",
    ),
    CodeSpec(
        "ecg.bradycardia",
        _M,
        "Bradycardia: heart rate {hr:.0f} /min",
        "心动过缓：心率 {hr:.0f} 次/分",
    ),
    CodeSpec(
        "ecg.tachycardia",
        _M,
        "Tachycardia: heart rate {hr:.0f} /min",
        "心动过速：心率 {hr:.0f} 次/分",
    ),
    CodeSpec(
        "ecg.pause", _H, "Pause of {seconds:.1f} s in the ECG", "心电图出现 {seconds:.1f} 秒停搏"
    ),
    CodeSpec(
        "ecg.asystole",
        _H,
        "Asystole: no heartbeat for {seconds:.1f} s",
        "心脏停搏：{seconds:.1f} 秒无心跳",
    ),
    CodeSpec(
        "ecg.af",
        _H,
        "Atrial fibrillation, heart rate {hr:.0f} /min",
        "心房颤动，心率 {hr:.0f} 次/分",
    ),
    CodeSpec(
        "ecg.vt",
        _H,
        "Ventricular tachycardia: {hr:.0f} /min for {seconds:.0f} s",
        "室性心动过速：{hr:.0f} 次/分，持续 {seconds:.0f} 秒",
    ),
    CodeSpec(
        "ecg.nsvt",
        _M,
        "Non-sustained ventricular tachycardia: {beats} ventricular beats at {hr:.0f} /min",
        "非持续性室性心动过速：连续 {beats} 次室性搏动，{hr:.0f} 次/分",
    ),
    CodeSpec(
        "ecg.pvc_burden",
        _L,
        "Frequent ventricular ectopic beats: {percent:.0f}% of {beats} beats in the last "
        "{hours:.0f} h; consider review by the family doctor",
        "室性早搏负荷高：近 {hours:.0f} 小时 {beats} 次心搏中占 {percent:.0f}%，建议家庭医生复诊",
    ),
    CodeSpec(
        "cv.crisis_with_arrhythmia",
        _H,
        "Hypertensive crisis with {rhythm}: stroke / acute coronary risk, refer now",
        "高血压危象合并{rhythm_zh}：卒中/急性冠脉综合征风险，请立即转诊",
        combines=frozenset({"bp.hypertensive_crisis", "ecg.af", "ecg.tachycardia"}),
    ),
    CodeSpec(
        "cv.hypoglycaemia_with_tachycardia",
        _H,
        "Low glucose {glucose:.1f} mmol/L with heart rate {hr:.0f} /min",
        "低血糖 {glucose:.1f} mmol/L 伴心率 {hr:.0f} 次/分",
        combines=frozenset({"glucose.low", "glucose.urgent_low", "ecg.tachycardia"}),
    ),
    CodeSpec(
        "device.signal_quality",
        _L,
        "Poor signal from {device_id}: {reason}",
        "设备 {device_id} 信号质量差：{reason}",
        technical=True,
    ),
    CodeSpec(
        "device.stale",
        _L,
        "No data from {device_id} for {minutes:.0f} min",
        "设备 {device_id} 已 {minutes:.0f} 分钟无数据",
        technical=True,
    ),
    CodeSpec(
        "notify.channel_failed",
        _M,
        "Alert notifications on {channel} keep failing ({error}); the next tier is told",
        "告警通知渠道 {channel} 持续发送失败（{error}），已通知下一级",
        technical=True,
    ),
    CodeSpec(
        "consult.request",
        _M,
        "ECG reading requested ({priority}) by {tenant}, due {due}",
        "远程心电会诊申请（{priority_zh}），来自 {tenant}，截止 {due}",
    ),
    CodeSpec(
        "consult.report",
        _L,
        "ECG reading reported by {by}: {summary}",
        "心电会诊报告（{by}）：{summary}",
    ),
    CodeSpec(
        "device.battery_low",
        _L,
        "Battery low on {device_id}: {percent:.0f}%",
        "设备 {device_id} 电量低：{percent:.0f}%",
        technical=True,
    ),
)

CODES: Final = MappingProxyType({c.code: c for c in _CODE_LIST})


def spec(code: str) -> CodeSpec:
    try:
        return CODES[code]
    except KeyError:
        raise KeyError(f"unknown alert code {code!r}") from None


def urgency(code: str, priority: Priority) -> int:
    """Sort key, higher first: emergencies above every priority, then the priority's rank."""
    spec_ = CODES.get(code)
    return (10 if spec_ is not None and spec_.emergency else 0) + priority.rank


def is_emergency(code: str) -> bool:
    spec_ = CODES.get(code)
    return spec_ is not None and spec_.emergency


def render(code: str, params: Mapping[str, Any]) -> dict[str, str]:
    """Both language texts; a template whose parameters are missing falls back to its code."""
    s = spec(code)
    out = {}
    for lang, template in (("en", s.en), ("zh-CN", s.zh)):
        try:
            out[lang] = template.format(**params)
        except (KeyError, ValueError, TypeError):
            out[lang] = template.split(":")[0].split("：")[0]
    return out
