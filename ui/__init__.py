"""Streamlit helpers shared by the pages: components, cached resources, small views."""
