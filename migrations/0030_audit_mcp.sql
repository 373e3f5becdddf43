-- MCP requests (SPEC §9, §10): the JSON-RPC method and the tool, prompt or resource it names.
ALTER TABLE audit_events ADD COLUMN mcp_method TEXT;
ALTER TABLE audit_events ADD COLUMN mcp_name TEXT;
