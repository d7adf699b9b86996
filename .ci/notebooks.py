"""Execute the notebooks, commit their outputs, and check that the committed outputs are fresh.

    python .ci/notebooks.py run   [--site DIR] [NB ...]  execute and write the outputs into the notebooks (`make outputs`)
    python .ci/notebooks.py check [--site DIR] [NB ...]  execute copies and compare their text outputs with the committed ones
                                                         (`make test`)
With --site, each notebook runs alone in an empty folder against the xvit installed in DIR (a built wheel), with no GPU
visible: as a notebook runs in Colab. Without it, notebooks run in nbs/ against the checkout.

Cells flagged with settings.ini's `tst_flags` (slow, gpu) are skipped, as nbdev_test skips them, and keep no outputs.
Two notebooks run at once, one thread each. Text outputs must match after normalising what honestly varies between
runs and machines (temporary paths, object addresses, the last digits of floats); a figure must still be a figure.
"""
import argparse, configparser, json, os, re, shutil, subprocess, sys, tempfile, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NBS = ROOT/'nbs'
# Notebooks that exercise the checkout itself (they build a wheel from it, or call `make`), so they run in nbs/ even with --site
NEEDS_CHECKOUT = {'11_package.ipynb': 'builds a wheel from the checkout and installs it'}
MAX_TEXT = 12_000        # characters of text one cell may print: outputs are for reading, not dumps
MAX_NB_BYTES = 4_000_000
TIMEOUT = 1800           # seconds one notebook may run
VARIES = '# output varies'  # a cell whose source says so (with why: timings) is compared with its numbers masked

def flags():
    cfg = configparser.ConfigParser(); cfg.read(ROOT/'settings.ini')
    return set(cfg['DEFAULT'].get('tst_flags', '').split())
FLAGS = flags()          # settings.ini's tst_flags: cells flagged so are skipped by default

def directives(src):
    "The `#| ...` lines at the top of a cell, as nbdev reads them (it stops at the first other non-blank line)."
    out = {}
    for line in src.splitlines():
        m = re.match(r'\s*#\|\s*([\w-]+):?\s*(.*)', line)
        if m: out[m[1]] = m[2].strip()
        elif line.strip() and not line.lstrip().startswith('%%'): break
    return out

def skipped(cell, skip):
    if cell['cell_type'] != 'code': return True
    src = ''.join(cell['source']) if isinstance(cell['source'], list) else cell['source']
    if 'nbdev_export' + '(' in src: return True
    d = directives(src)
    return d.get('eval', '').lower() == 'false' or bool(skip & d.keys())

# ---------------------------------------------------------------- executing one notebook (in its own process)
def execute_one(src, dest, skip):
    "Run notebook `src` in the current folder; write it with fresh outputs to `dest`."
    os.environ['IN_TEST'] = '1'
    import tqdm.std           # no progress bars in committed outputs; TQDM_DISABLE would lose to the library's explicit disable=False
    init = tqdm.std.tqdm.__init__
    tqdm.std.tqdm.__init__ = lambda self, *a, **kw: init(self, *a, **{**kw, 'disable': True})
    from execnb.nbio import read_nb, write_nb
    from execnb.shell import CaptureShell
    nb = read_nb(src)
    shell = CaptureShell(Path(src).resolve(), mpl_format='png')   # png, not retina: half the bytes in the notebook
    t0, err = time.time(), None
    try:
        for cell in nb.cells:
            if cell.cell_type == 'code': cell.outputs, cell.execution_count = [], None   # execnb keeps old outputs of a silent cell
            if skipped(cell, skip): continue
            shell.cell(cell)
            if shell.exc: raise shell.exc
    except BaseException as e:
        err = shell.prettytb(fname=Path(src).name) if shell.exc else repr(e)
    write_nb(nb, dest)
    return err, time.time() - t0

# ---------------------------------------------------------------- comparing outputs
_NUM = re.compile(r'[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?')
_VARIES = [(re.compile(r'\S*/(?:site-packages|dist-packages|xvit-site)/'), '<site>/'),
           (re.compile(re.escape(str(ROOT)) + r'/?'), '<repo>/'),
           (re.compile(r'/tmp/[\w./-]+|/var/folders/[\w./-]+'), '<tmp>'),
           (re.compile(r'0x[0-9a-fA-F]{6,}'), '<addr>'),
           (re.compile(r'<ipython-input-\d+-[0-9a-f]+>'), '<cell>'),
           (re.compile(r'(\.py)", line \d+|(\.py):\d+:'), r'\1\2:#:'),     # line numbers inside libraries drift with versions
           (re.compile(r'\b\d+(?:\.\d+)? ?(?:s|ms|min)\b(?!\w)'), '<duration>'),   # "in 0.1 s": durations differ per run
           (re.compile(r'\x1b\[[0-9;]*[A-Za-z]'), '')]

def text_of(outputs):
    "The text a cell shows (streams, plain-text results, errors) and how many figures it draws."
    parts, images = [], 0
    for o in outputs:
        if o['output_type'] == 'stream': parts.append(''.join(o['text']))
        elif o['output_type'] == 'error': parts.append(f"{o['ename']}: {o['evalue']}")
        else:
            data = o.get('data', {})
            images += any(k.startswith('image/') for k in data)
            if 'text/plain' in data: parts.append(''.join(data['text/plain']))     # a figure's is "<Figure size 900x300 with 3 Axes>"
    text = ''.join(parts)
    for pat, rep in _VARIES: text = pat.sub(rep, text)
    return text, images

def same_number(a, b):
    "Integers must be equal; floats printed with 4+ significant digits may differ by one in the last (another CPU's rounding)."
    if re.sub(r'\d', '9', a) != re.sub(r'\d', '9', b): return False       # the same format: '0.21' is not '0.2134'
    if not re.search(r'[.eE]', a): return a == b
    x, y = float(a), float(b)
    if abs(x) < 1e-4 and abs(y) < 1e-4: return True          # round-off sized numbers (max |diff| of two paths...) vary per machine
    mant = re.split(r'[eE]', a)[0]
    if len(mant.replace('-', '').replace('+', '').replace('.', '').lstrip('0')) < 4: return a == b   # 0.0001 vs 0.0002 is no rounding
    ulp = 10 ** -(len(mant.split('.')[1]) if '.' in mant else 0) * (10 ** int(re.split(r'[eE]', a)[1]) if re.search(r'[eE]', a) else 1)
    return abs(x - y) <= 1.01 * ulp

def same_text(a, b):
    if _NUM.sub('#', a) != _NUM.sub('#', b): return False
    return all(same_number(x, y) for x, y in zip(_NUM.findall(a), _NUM.findall(b)))

def compare(committed, fresh):
    "Differences between the committed outputs and a fresh run, cell by cell (flagged cells are committed without outputs)."
    problems, flagged = [], FLAGS
    for i, (c, f) in enumerate(zip(committed['cells'], fresh['cells'])):
        if c['cell_type'] != 'code': continue
        src = ''.join(c['source'])
        head = src[:60].replace('\n', ' | ')
        if flagged & directives(src).keys():
            if c.get('outputs'): problems.append(f"cell {i} ({head}...): flagged {sorted(flagged & directives(src).keys())} but committed with outputs")
            continue
        (ct, ci), (ft, fi) = text_of(c.get('outputs', [])), text_of(f.get('outputs', []))
        if VARIES in src: ct, ft = _NUM.sub('#', ct), _NUM.sub('#', ft)     # timings: the same text, any numbers
        if not same_text(ct, ft):
            problems.append(f"cell {i} ({head}...): committed output differs from a fresh run\n"
                            f"  committed: {ct[:400]!r}\n  fresh:     {ft[:400]!r}")
        if ci != fi: problems.append(f"cell {i} ({head}...): {ci} figure(s) committed, {fi} drawn now")
        if len(ft) > MAX_TEXT: problems.append(f"cell {i} ({head}...): prints {len(ft)} characters (at most {MAX_TEXT})")
    return problems

# ---------------------------------------------------------------- driver
def run_notebook(nb, mode, site, skip, alone=False):
    "Execute `nb` in a subprocess; returns (name, error or None, seconds, problems)."
    isolated = (site is not None or alone) and nb.name not in NEEDS_CHECKOUT
    work = Path(tempfile.mkdtemp(prefix='xvit-nb-'))
    try:
        # one thread each (two notebooks share the two CI cores)
        env = {k: v for k, v in os.environ.items() if not k.startswith('XVIT_')}    # XVIT_RECOMPUTE=1 would re-measure for hours
        env.update(OMP_NUM_THREADS='1', MKL_NUM_THREADS='1', MPLBACKEND='agg', PYTHONHASHSEED='0',
                   COLUMNS='80', LINES='24', TMPDIR='/tmp')           # pandas wraps tables at COLUMNS; temp paths start /tmp
        if site is not None: env['CUDA_VISIBLE_DEVICES'] = ''     # as on a CPU runtime: `#| gpu` work must skip itself
        if isolated:
            src, cwd = work/nb.name, work
            shutil.copy(nb, src)                                  # the notebook alone, in an empty folder
            if site is not None: env['PYTHONPATH'] = env['XVIT_EXPECT_SITE'] = str(site)
        else: src, cwd = nb, nb.parent
        dest = work/('out-' + nb.name)
        result = work/'result.json'
        try:
            r = subprocess.run([sys.executable, __file__, '_one', str(src), str(dest), ' '.join(sorted(skip)), str(result)],
                               cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT, start_new_session=True)
            tail = f'exit {r.returncode}: {r.stderr[-3000:]}'
        except subprocess.TimeoutExpired: tail = f'no result after {TIMEOUT} s'
        try: res = json.loads(result.read_text())
        except (OSError, ValueError): res = {'error': f'the runner died ({tail})', 'seconds': 0}
        if res['error']: return nb.name, res['error'], res['seconds'], []
        fresh = json.loads(dest.read_text())
        if mode == 'run':
            nb.write_text(json.dumps(fresh, indent=1, ensure_ascii=False) + '\n')
            subprocess.run([str(Path(sys.executable).parent/'nbdev_clean'), '--fname', str(nb)], check=True, cwd=ROOT)
            problems = []
        else: problems = compare(json.loads(nb.read_text()), fresh)
        if nb.stat().st_size > MAX_NB_BYTES: problems.append(f"{nb.stat().st_size} bytes: more than {MAX_NB_BYTES} (figures too large?)")
        return nb.name, None, res['seconds'], problems
    finally: shutil.rmtree(work, ignore_errors=True)

def one(src, dest, skip, result):
    expect = os.environ.pop('XVIT_EXPECT_SITE', None)
    if expect:
        import xvit
        if not Path(xvit.__file__).resolve().is_relative_to(Path(expect).resolve()):
            Path(result).write_text(json.dumps({'error': f'xvit came from {xvit.__file__}, not from the installed wheel in {expect}', 'seconds': 0}))
            return
    err, secs = execute_one(src, dest, set(skip.split()))
    Path(result).write_text(json.dumps({'error': err, 'seconds': secs}))

def selftest():
    "The check can fail: stale, reformatted, crashing and wrongly flagged notebooks are caught; honest variation is not."
    ok = [('84.51', '84.52'), ('2.4e-07', '3.1e-07'), ('1.2345', '1.2344'), ('-0.9712', '-0.9713')]
    bad = [('1', '0'), ('410', '411'), ('0.21', '0.2134'), ('0.21', '0.22'), ('0.0001', '0.0002'), ('84.51', '84.53')]
    assert all(same_number(a, b) for a, b in ok) and not any(same_number(a, b) for a, b in bad)
    assert text_of([{'output_type': 'stream', 'text': f'{ROOT}/nbs/x in 0.1 s, /tmp/tmpab12/y 0x7f3a2b4c5d6e'}])[0] == '<repo>/nbs/x in <duration>, <tmp> <addr>'
    code = lambda src, out=None: {'cell_type': 'code', 'id': 'c', 'metadata': {}, 'execution_count': None, 'source': src,
                                  'outputs': [] if out is None else [{'output_type': 'stream', 'name': 'stdout', 'text': out}]}
    nb = lambda *cells: {'cells': list(cells), 'metadata': {}, 'nbformat': 4, 'nbformat_minor': 5}
    cases = {'fresh.ipynb': (nb(code('print(6 * 7)', '42\n')), None),
             'stale.ipynb': (nb(code('print(6 * 7)', '41\n')), 'committed output differs'),
             'silent.ipynb': (nb(code('x = 1', 'old output\n')), 'committed output differs'),
             'varies.ipynb': (nb(code('# output varies: a timing\nprint(3.25)', '1.50\n')), None),
             'flagged.ipynb': (nb(code('#| slow\nprint(1)', '1\n')), 'committed with outputs'),
             'crash.ipynb': (nb(code('1 / 0')), 'ZeroDivisionError')}
    with tempfile.TemporaryDirectory() as d:
        for name, (content, expect) in cases.items():
            path = Path(d)/name; path.write_text(json.dumps(content))
            _, err, _, problems = run_notebook(path, 'check', None, FLAGS, alone=True)
            said = (err or '') + '\n'.join(problems)
            assert (expect is None and not said) or (expect and expect in said), f'{name}: expected {expect!r}, got {said!r}'
    print('notebooks.py selftest: stale, reformatted, silent, crashing and flagged notebooks are caught; timings and rounding are not')

def main():
    if len(sys.argv) > 1 and sys.argv[1] == '_one': return one(*sys.argv[2:6])
    if sys.argv[1:] == ['selftest']: return selftest()
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('mode', choices=['run', 'check'])
    ap.add_argument('notebooks', nargs='*', help='notebooks (default: every nbs/*.ipynb)')
    ap.add_argument('--site', help='run each notebook alone against the xvit installed in this folder')
    ap.add_argument('--alone', action='store_true', help='run each notebook alone in an empty folder, against the xvit of this environment')
    ap.add_argument('--flags', default='', help='flags to run anyway (e.g. slow)')
    ap.add_argument('--workers', type=int, default=2)
    a = ap.parse_intermixed_args()
    nbs = [Path(n).resolve() for n in a.notebooks] or sorted(NBS.glob('*.ipynb'))
    skip = FLAGS - set(a.flags.split())
    site = Path(a.site).resolve() if a.site else None
    t0, failed = time.time(), []
    with ThreadPoolExecutor(a.workers) as ex:
        for name, err, secs, problems in ex.map(lambda n: run_notebook(n, a.mode, site, skip, a.alone), nbs):
            where = 'in nbs/' if name in NEEDS_CHECKOUT or (site is None and not a.alone) else \
                    'alone, from the wheel' if site is not None else 'alone'
            status = 'FAILED' if err else ('STALE' if problems else 'ok')
            print(f'{status:6} {name:24} {secs:7.1f} s  ({where})', flush=True)
            if err: print(err, file=sys.stderr)
            for p in problems: print('   ', p)
            if err or problems: failed.append(name)
    for name, why in NEEDS_CHECKOUT.items():
        if site is not None: print(f'note: {name} runs in nbs/, not alone: it {why}')
    print(f"notebooks: {len(nbs) - len(failed)} {'ran' if a.mode == 'run' else 'fresh'}, {len(failed)} failed"
          f"{': ' + ' '.join(failed) if failed else ''} ({time.time() - t0:.0f} s)")
    if failed and a.mode == 'check':
        print("Re-execute the notebooks with `make outputs` and commit them (a failure above is a real error first).")
    sys.exit(1 if failed else 0)

if __name__ == '__main__': main()
