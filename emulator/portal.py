"""The platforms' complaint web portals under /portal/{platform}: login, a complaint form with evidence upload,
status pages, a lookup by the filer's own key (client_ref) and a spreadsheet bulk upload. Chinese UI.

Every page except the login page needs a session cookie; without one it answers 303 to the login page.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import html
import io
import math
import re
import zipfile
from typing import Any

from fastapi import APIRouter, Request
from starlette.datastructures import UploadFile
from starlette.responses import HTMLResponse, RedirectResponse, Response

from .complaints import STATUS_TEXT, Complaint
from .faults import Fault
from .world import BAD_GATEWAY, json_response, world_of

router = APIRouter(prefix="/portal")

PORTALS: dict[str, str] = {
    "douyin": "抖音 侵权/违规内容投诉平台",
    "kuaishou": "快手 知识产权保护平台",
    "bilibili": "哔哩哔哩 版权与违规内容投诉",
    "xiaohongshu": "小红书 侵权投诉平台",
    "weibo": "微博 举报投诉中心",
    "12377": "违法和不良信息举报中心（12377）",
}
CATEGORIES = ("违法违规", "金融诈骗", "侵权", "其他")
# Bulk sheet columns (header text before any bracket, e.g. "委托编号(client_ref)") and English aliases.
COLUMNS = {"帖子链接": "post_url", "违规类型": "category", "投诉说明": "description", "委托编号": "client_ref",
           "权利人": "rights_holder", "post_url": "post_url", "category": "category",
           "description": "description", "client_ref": "client_ref", "rights_holder": "rights_holder"}
REQUIRED_COLUMNS = ("post_url", "description")
CSS = (
    "body{font-family:'PingFang SC','Microsoft YaHei',sans-serif;margin:0;background:#f5f6f7;color:#222}"
    "header{background:#1f2d3d;color:#fff;padding:12px 24px}main{max-width:760px;margin:24px auto;background:#fff;"
    "padding:24px;border-radius:6px}label{display:block;margin-top:14px;font-weight:600}"
    "input[type=text],input[type=password],select,textarea{width:100%;padding:6px;box-sizing:border-box}"
    "textarea{height:140px}button{display:block;margin-top:18px;padding:8px 24px}.error{color:#c0392b}"
    "dt{font-weight:600;margin-top:8px}"
)


def cookie_name(platform: str) -> str:
    return f"emu_portal_{platform}"


def _page(platform: str, title: str, body: str, status: int = 200) -> HTMLResponse:
    name = html.escape(PORTALS[platform])
    return HTMLResponse(
        f"<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>{html.escape(title)} - {name}"
        f"</title><style>{CSS}</style></head><body data-platform=\"{html.escape(platform)}\"><header>{name}"
        f"</header><main><h1>{html.escape(title)}</h1>{body}</main></body></html>", status_code=status)


def _not_found(message: str = "页面不存在") -> HTMLResponse:
    return HTMLResponse(f"<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>404</title>"
                        f"</head><body><h1>404</h1><p>{html.escape(message)}</p></body></html>", status_code=404)


def _to_login(platform: str) -> RedirectResponse:
    return RedirectResponse(f"/portal/{platform}/login", status_code=303)


def _user(request: Request, platform: str) -> str | None:
    return world_of(request).portal.user(platform, request.cookies.get(cookie_name(platform)))


async def _gateway(request: Request, platform: str, endpoint: str) -> tuple[Fault | None, Response | None]:
    """Count the request and take an injected portal fault: (fault, answer that replaces the page or None)."""
    world = world_of(request)
    world.stats.hit("portal", endpoint)
    fault = world.faults.take("portal", endpoint)
    if fault is None:
        return None, None
    world.stats.fault("portal", fault.kind)
    if fault.kind == "slow":
        await asyncio.sleep(fault.delay)
    elif fault.kind == "rate_limit":
        return fault, HTMLResponse("<html><body><h1>429</h1><p>请求过于频繁，请稍后再试</p></body></html>",
                                   status_code=429, headers={"Retry-After": str(int(math.ceil(fault.retry_after)))})
    elif fault.kind == "server_error":
        return fault, HTMLResponse(BAD_GATEWAY, status_code=502)
    elif fault.kind == "login_expired":
        world.portal.logout(request.cookies.get(cookie_name(platform)))
        return fault, _to_login(platform)
    return fault, None


async def _enter(request: Request, platform: str, endpoint: str) -> tuple[Fault | None, str | None, Response | None]:
    """The way into every logged-in portal page: a known portal, then the fault gateway, then the session.
    Returns (fault, user, answer that replaces the page or None)."""
    if platform not in PORTALS:
        return None, None, _not_found()
    fault, early = await _gateway(request, platform, endpoint)
    if early is not None:
        return fault, None, early
    user = _user(request, platform)
    if user is None:
        return fault, None, _to_login(platform)
    return fault, user, None


def _lost(fault: Fault | None, resp: Response) -> Response:
    """The `lost_response` fault: the work is done, but the filer gets a 502 instead of the answer."""
    return HTMLResponse(BAD_GATEWAY, status_code=502) if fault is not None and fault.kind == "lost_response" else resp


def _field(form, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


# ------------------------------------------------------------------------------------------------ login


def _login_page(platform: str, error: str = "", username: str = "", status: int = 200) -> HTMLResponse:
    err = f'<p id="login-error" class="error">{html.escape(error)}</p>' if error else ""
    return _page(platform, "登录", (
        f'{err}<form id="login-form" method="post" action="/portal/{platform}/login">'
        f'<label for="username">用户名</label><input type="text" id="username" name="username" '
        f'value="{html.escape(username)}" autocomplete="username" required>'
        '<label for="password">密码</label><input type="password" id="password" name="password" '
        'autocomplete="current-password" required>'
        '<button type="submit" id="login">登录</button></form>'), status)


@router.get("/{platform}/login", response_class=HTMLResponse)
async def login_form(request: Request, platform: str) -> Response:
    if platform not in PORTALS:
        return _not_found()
    return _login_page(platform)


@router.post("/{platform}/login")
async def login(request: Request, platform: str) -> Response:
    if platform not in PORTALS:
        return _not_found()
    fault, early = await _gateway(request, platform, "login")
    if early is not None:
        return early
    form = await request.form()
    username, password = _field(form, "username"), form.get("password")
    token = world_of(request).portal.login(platform, username, password if isinstance(password, str) else "")
    if token is None:
        return _login_page(platform, "用户名或密码错误", username)
    resp = RedirectResponse(f"/portal/{platform}/complaints/new", status_code=303)
    resp.set_cookie(cookie_name(platform), token, path=f"/portal/{platform}", httponly=True, samesite="lax")
    return _lost(fault, resp)


@router.get("/{platform}/logout")
async def logout(request: Request, platform: str) -> Response:
    if platform not in PORTALS:
        return _not_found()
    world_of(request).portal.logout(request.cookies.get(cookie_name(platform)))
    resp = _to_login(platform)
    resp.delete_cookie(cookie_name(platform), path=f"/portal/{platform}")
    return resp


@router.get("/{platform}")
@router.get("/{platform}/", include_in_schema=False)
async def portal_home(request: Request, platform: str) -> Response:
    if platform not in PORTALS:
        return _not_found()
    if _user(request, platform) is None:
        return _to_login(platform)
    return RedirectResponse(f"/portal/{platform}/complaints/new", status_code=303)


# ------------------------------------------------------------------------------------------------ form


def _new_form(platform: str, user: str, error: str = "", values: dict[str, str] | None = None,
              status: int = 200) -> HTMLResponse:
    v = {k: html.escape(x) for k, x in (values or {}).items()}
    options = "".join(f'<option value="{c}"{" selected" if v.get("category") == c else ""}>{c}</option>'
                      for c in CATEGORIES)
    err = f'<p id="form-error" class="error">{html.escape(error)}</p>' if error else ""
    return _page(platform, "提交投诉", (
        f'<p>当前账号：<span id="portal-user">{html.escape(user)}</span> · '
        f'<a href="/portal/{platform}/bulk">批量投诉</a> · <a href="/portal/{platform}/logout">退出</a></p>{err}'
        f'<form id="complaint-form" method="post" action="/portal/{platform}/complaints/new" '
        'enctype="multipart/form-data">'
        '<label for="post_url">被投诉内容链接</label>'
        f'<input type="text" id="post_url" name="post_url" value="{v.get("post_url", "")}" required>'
        f'<label for="category">违规类型</label><select id="category" name="category">{options}</select>'
        '<label for="rights_holder">权利人 / 投诉主体</label>'
        f'<input type="text" id="rights_holder" name="rights_holder" value="{v.get("rights_holder", "")}">'
        '<label for="description">投诉说明（请具体说明违规内容）</label>'
        f'<textarea id="description" name="description" required>{v.get("description", "")}</textarea>'
        '<label for="client_ref">委托编号（可选，用于防止重复提交）</label>'
        f'<input type="text" id="client_ref" name="client_ref" value="{v.get("client_ref", "")}">'
        '<label for="evidence">证据材料（截图、网页存档、授权委托书等，可多选）</label>'
        '<input type="file" id="evidence" name="evidence" multiple>'
        '<button type="submit" id="submit">提交投诉</button></form>'), status)


@router.get("/{platform}/complaints/new", response_class=HTMLResponse)
async def new_complaint_form(request: Request, platform: str) -> Response:
    if platform not in PORTALS:
        return _not_found()
    user = _user(request, platform)
    if user is None:
        return _to_login(platform)
    return _new_form(platform, user)


async def _file_record(upload: UploadFile) -> dict[str, Any]:
    data = await upload.read()
    return {"filename": upload.filename or "", "content_type": upload.content_type or "", "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest()}


@router.post("/{platform}/complaints/new")
async def submit_complaint(request: Request, platform: str) -> Response:
    fault, user, early = await _enter(request, platform, "submit")
    if early is not None:
        return early
    form = await request.form()
    values = {k: _field(form, k) for k in ("post_url", "category", "rights_holder", "description", "client_ref")}
    if not values["post_url"]:
        return _new_form(platform, user, "请填写被投诉内容链接", values, 400)
    if values["category"] not in CATEGORIES:
        return _new_form(platform, user, "请选择违规类型", values, 400)
    if not values["description"]:
        return _new_form(platform, user, "请填写投诉说明", values, 400)
    evidence = []
    for upload in form.getlist("evidence"):
        if isinstance(upload, UploadFile) and upload.filename:
            evidence.append(await _file_record(upload))
    world = world_of(request)
    complaint, created = world.complaints.register(
        platform=platform, channel="portal", sender=user, post_url=values["post_url"],
        body=values["description"], client_ref=values["client_ref"], category=values["category"],
        rights_holder=values["rights_holder"], evidence=evidence)
    status = complaint.status(world.clock.time())
    note = "" if created else '<p id="duplicate-note">该委托编号已提交过，以下为原投诉编号。</p>'
    return _lost(fault, _page(platform, "投诉已提交", (
        f'{note}<p>投诉编号：<span id="complaint-ref">{html.escape(complaint.ref)}</span></p>'
        f'<p>当前状态：<span id="complaint-status">{status}</span> {STATUS_TEXT[status]}</p>'
        f'<p>已上传证据 {len(complaint.evidence)} 份。</p>'
        f'<p><a id="status-link" href="/portal/{platform}/complaints/{html.escape(complaint.ref)}">查看处理进度</a>'
        f' · <a href="/portal/{platform}/complaints/new">继续投诉</a></p>')))


# ------------------------------------------------------------------------------------------------ lookups


@router.get("/{platform}/complaints")
async def lookup(request: Request, platform: str) -> Response:
    fault, _, early = await _enter(request, platform, "lookup")
    if early is not None:
        return early
    world = world_of(request)
    client_ref = request.query_params.get("client_ref")
    found = world.complaints.find(platform, client_ref.strip() if client_ref is not None else None)
    now = world.clock.time()
    return _lost(fault, json_response({"complaints": [c.public(now) for c in found]}))


def _status_page(platform: str, complaint: Complaint, now: float) -> HTMLResponse:
    info = complaint.public(now)
    reason = (f'<dt>驳回理由</dt><dd><span id="complaint-reason">{html.escape(info["reason"])}</span></dd>'
              if info["reason"] else "")
    rows = "".join(f"<dt>{label}</dt><dd>{html.escape(str(info[key]))}</dd>"
                   for label, key in (("被投诉内容", "post_url"), ("违规类型", "category"), ("提交时间", "received_at"),
                                      ("受理时间", "acknowledged_at"), ("处理时间", "decided_at")) if info[key])
    return _page(platform, "投诉进度", (
        f'<dl><dt>投诉编号</dt><dd><span id="complaint-ref">{html.escape(complaint.ref)}</span></dd>'
        f'<dt>处理状态</dt><dd><span id="complaint-status-text">{info["status_text"]}</span>'
        f' (<span id="complaint-status">{info["status"]}</span>)</dd>{reason}{rows}</dl>'
        f'<p><a href="/portal/{platform}/complaints/new">继续投诉</a></p>'))


@router.get("/{platform}/complaints/{ref}")
async def complaint_status(request: Request, platform: str, ref: str) -> Response:
    fault, _, early = await _enter(request, platform, "status")
    if early is not None:
        return early
    world = world_of(request)
    complaint = world.complaints.get(ref)
    as_json = request.query_params.get("format") == "json"
    if complaint is None or complaint.platform != platform:
        if as_json:
            return json_response({"error": "投诉不存在", "ref": ref}, status=404)
        return _not_found("投诉不存在")
    now = world.clock.time()
    if as_json:
        return _lost(fault, json_response(complaint.public(now)))
    return _lost(fault, _status_page(platform, complaint, now))


# ------------------------------------------------------------------------------------------------ bulk


class SheetError(ValueError):
    pass


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_sheet(filename: str, data: bytes) -> list[dict[str, str]]:
    """Rows of an .xlsx or .csv complaint sheet as dicts keyed post_url/category/description/client_ref/..."""
    if filename.lower().endswith((".xlsx", ".xlsm")) or data[:4] == b"PK\x03\x04":
        import openpyxl

        try:
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises several kinds for a damaged file
            raise SheetError(f"无法读取表格文件：{type(exc).__name__}") from exc
        rows = [[_cell(v) for v in row] for row in book.active.iter_rows(values_only=True)]
        book.close()
    else:
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise SheetError("无法识别 CSV 文件编码（支持 UTF-8、GB18030）")
        rows = [[_cell(v) for v in row] for row in csv.reader(io.StringIO(text))]
    if not rows:
        raise SheetError("表格为空")
    keys = [COLUMNS.get(re.split(r"[（(]", h, maxsplit=1)[0].strip()) for h in rows[0]]
    missing = [c for c, key in (("帖子链接", "post_url"), ("投诉说明", "description")) if key not in keys]
    if missing:
        raise SheetError(f"缺少列：{'、'.join(missing)}")
    out = []
    for row in rows[1:]:
        if not any(row):
            continue
        record = {k: "" for k in ("post_url", "category", "description", "client_ref", "rights_holder")}
        for key, value in zip(keys, row, strict=False):
            if key is not None and value:
                record[key] = value
        out.append(record)
    return out


def _zip_record(upload_name: str, data: bytes) -> dict[str, Any]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            entries = [{"name": i.filename, "size": i.file_size,
                        "sha256": hashlib.sha256(z.read(i)).hexdigest()} for i in z.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, OSError, RuntimeError) as exc:
        raise SheetError("evidence_zip 不是有效的 ZIP 文件") from exc
    return {"filename": upload_name, "content_type": "application/zip", "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(), "entries": entries}


@router.get("/{platform}/bulk", response_class=HTMLResponse)
async def bulk_form(request: Request, platform: str) -> Response:
    if platform not in PORTALS:
        return _not_found()
    if _user(request, platform) is None:
        return _to_login(platform)
    return _page(platform, "批量投诉", (
        "<p>上传 .xlsx 或 .csv 表格，列：帖子链接、违规类型、投诉说明、委托编号；证据可打包为 ZIP 一并上传。</p>"
        f'<form id="bulk-form" method="post" action="/portal/{platform}/bulk" enctype="multipart/form-data">'
        '<label for="sheet">投诉表格</label><input type="file" id="sheet" name="sheet" accept=".xlsx,.csv" required>'
        '<label for="evidence_zip">证据压缩包（可选）</label>'
        '<input type="file" id="evidence_zip" name="evidence_zip" accept=".zip">'
        '<button type="submit" id="submit">上传</button></form>'))


@router.post("/{platform}/bulk")
async def bulk_upload(request: Request, platform: str) -> Response:
    fault, user, early = await _enter(request, platform, "bulk")
    if early is not None:
        return early
    form = await request.form()
    sheet = form.get("sheet")
    if not isinstance(sheet, UploadFile) or not sheet.filename:
        return json_response({"error": "请上传投诉表格（sheet）"}, status=400)
    try:
        rows = read_sheet(sheet.filename, await sheet.read())
        evidence: list[dict[str, Any]] = []
        extra: dict[str, Any] = {}
        archive = form.get("evidence_zip")
        if isinstance(archive, UploadFile) and archive.filename:
            record = _zip_record(archive.filename, await archive.read())
            evidence = [{k: record[k] for k in ("filename", "content_type", "size", "sha256")}]
            extra = {"evidence_zip": record}
    except SheetError as exc:
        return json_response({"error": str(exc)}, status=400)
    world = world_of(request)
    refs, created = [], []
    for row in rows:
        complaint, new = world.complaints.register(
            platform=platform, channel="bulk", sender=user, post_url=row["post_url"], body=row["description"],
            client_ref=row["client_ref"], category=row["category"], rights_holder=row["rights_holder"],
            evidence=evidence, extra={**extra, "sheet": sheet.filename})
        refs.append(complaint.ref)
        created.append(new)
    return _lost(fault, json_response({"refs": refs, "created": created}))

