"""Hospital documents as they are (PDF, Word, HTML, Markdown, plain text) read into Documents with pages."""
