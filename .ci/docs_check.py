"""Checks of the docs site that need no quarto: the sidebar lists the notebooks and nothing else, and every link in
the notebooks and README.md goes somewhere (site pages named from notebooks, Colab badges, files beside them)."""
import json, re, sys
from urllib.parse import unquote
from pathlib import Path
import yaml

ROOT = Path(__file__).resolve().parents[1]
NBS = ROOT/'nbs'
SITE = 'https://xvit-dev.github.io/xvit/'
COLAB = 'https://colab.research.google.com/github/xvit-dev/xvit/blob/main/'
notebooks = sorted(p.name for p in NBS.glob('*.ipynb'))
page = lambda nb: re.sub(r'^\d+[a-zA-Z0-9]*_', '', Path(nb).stem).lower() + '.html'      # nbdev names pages without the number
pages = {page(nb) for nb in notebooks} | {'index.html', ''}
problems = []

def listed(items):
    for it in items:
        if isinstance(it, str): yield it
        elif 'href' in it: yield it['href']
        elif isinstance(it.get('contents'), list): yield from listed(it['contents'])
        else: problems.append(f"nbs/sidebar.yml: an entry the check cannot read: {it}")
side = list(listed(yaml.safe_load((NBS/'sidebar.yml').read_text())['website']['sidebar']['contents']))
if sorted(side) != notebooks or len(side) != len(set(side)):
    problems.append(f"nbs/sidebar.yml lists {sorted(side)}; the notebooks are {notebooks}")

LINK = re.compile(r'\]\(<?([^)\s>]+)>?(?:\s+"[^"]*")?\)|(?:src|href)="([^"]+)"')
def check_links(text, where, base):
    for groups in LINK.findall(text):
        url = unquote(next(g for g in groups if g).split('#')[0].split('?')[0])
        if url.startswith('http://xvit-dev.github.io') or url.rstrip('/') == SITE.rstrip('/'): url = SITE
        if url.startswith(SITE):
            if url[len(SITE):] not in pages: problems.append(f"{where}: {url} is not a page of the site (pages: {sorted(pages - {''})})")
        elif url.startswith(COLAB):
            if not (ROOT/url[len(COLAB):]).exists(): problems.append(f"{where}: Colab badge points at a missing file {url[len(COLAB):]}")
            elif where.endswith('.ipynb') and url[len(COLAB):] != f'nbs/{where}': problems.append(f"{where}: its Colab badge opens {url[len(COLAB):]}")
        elif not re.match(r'[a-z]+:', url) and url:
            if not (base/url).exists(): problems.append(f"{where}: link to a missing file {url}")

for nb in notebooks:
    cells = json.loads((NBS/nb).read_text())['cells']
    md = ''.join(''.join(c['source']) + '\n' for c in cells if c['cell_type'] == 'markdown')
    check_links(md, nb, NBS)
    if nb != 'index.ipynb' and COLAB + f'nbs/{nb}' not in md: problems.append(f"{nb}: no Colab badge")
check_links((ROOT/'README.md').read_text(), 'README.md', ROOT)
for p in problems: print('docs-check:', p)
sys.exit(1 if problems else 0)
