// TypeDoc plugin (typedoc.json `plugin`): the guides of docs/ appear in the docs site's sidebar under their
// titles and in the order of the jobs they answer. Without it TypeDoc names a project document after its
// file ("cli-changes-22") and sorts the documents alphabetically.
//
// The titles live here rather than in front matter at the top of each guide: GitHub and npm show front
// matter as a table above the guide's own heading, and `title: …` over `---` reads as a Markdown heading.
// A guide's own front-matter `title:` still wins. Pages keep their file's URL (documents/cli.html): the
// title is applied once the pages are routed. test/docs.test.ts checks that every docs/*.md is listed.
import { basename } from 'node:path';
import { Converter, RendererEvent } from 'typedoc';

/** Every guide, in sidebar order (by job), with its sidebar title; the guides other branches add included. */
export const GUIDES = [
  ['cli.md', 'Command line'],
  ['cli-changes-22.md', 'Command line: what changed'],
  ['evaluation.md', 'Evaluation figures'],
  ['recalibration.md', 'Recalibration and label shift'],
  ['uncertainty.md', 'Uncertainty'],
  ['sampling.md', 'Sampling and logits processing'],
  ['sampler.md', 'Stateful sampler'],
  ['grammar.md', 'Grammar-constrained decoding'],
  ['transformers.md', 'transformers.js'],
  ['browser.md', 'In the browser'],
  ['digits-demo.md', 'Digits demo'],
  ['performance.md', 'Performance'],
  ['spec.md', 'Numerical spec'],
  ['api.md', 'Library API tour'],
  ['development.md', 'Development'],
];

const RANK = new Map(GUIDES.map(([file], i) => [file, i]));
const TITLE = new Map(GUIDES);

/** The guide file a document reflection was read from (its basename), or undefined. */
function guideFile(project, doc) {
  const path = project.files.getReflectionPath(doc);
  return path === undefined ? undefined : basename(path);
}

/** @param {import('typedoc').Application} app */
export function load(app) {
  // Before GroupPlugin sorts and groups the project's children: its sort leaves documents in the order
  // found as long as the strategy does not compare them (typedoc.json: "alphabetical-ignoring-documents").
  app.converter.on(
    Converter.EVENT_RESOLVE_END,
    (context) => {
      const project = context.project;
      if (!project.documents?.length) return;
      const rank = (doc) => RANK.get(guideFile(project, doc)) ?? GUIDES.length;
      project.documents.sort((a, b) => rank(a) - rank(b));
      const ordered = [...project.documents];
      project.childrenIncludingDocuments = project.childrenIncludingDocuments?.map((c) => (c.isDocument() ? ordered.shift() : c));
    },
    100,
  );
  // After routing, so that URLs stay the file names; before anything (sidebar, search, titles) is rendered.
  app.renderer.on(RendererEvent.BEGIN, (event) => {
    const project = event.project;
    for (const doc of project.documents ?? []) {
      const file = guideFile(project, doc);
      // A name still equal to the file's is TypeDoc's default: the guide gave no front-matter title.
      if (file && TITLE.has(file) && doc.name === file.replace(/\.md$/, '')) doc.name = TITLE.get(file);
    }
  });
}
