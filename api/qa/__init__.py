"""QA control, the third room of api/ (beside the client and the mock backend): the backend's
`/__qa` routes as a typed client (`control`), the QA actions by name (`actions`), and the desk that
carries them out on both sides (`desk`). The QA panel, the command palette and scripted scenarios
all run actions through `QADesk.run`; it may use the client, never the other way round."""
